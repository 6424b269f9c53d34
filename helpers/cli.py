"""The course's command line: ``python -m helpers COMMAND``.

Commands: ``predict`` (notebook 01), ``data fetch|check`` (notebook 01),
``dream`` (notebook 03), ``attack`` (notebook 04), ``grade`` (the lab),
``course`` (run every notebook headless).
"""

from __future__ import annotations

import argparse
import json
import sys


def _err(message: str) -> None:
    print(f"error: {message}", file=sys.stderr)


# ------------------------------------------------------------------ predict

def cmd_predict(args) -> int:
    from helpers.backbones import BackboneUnavailableError, feature_extractor, get_backbone
    from helpers.images import ImageError, load_image
    from helpers.labels import decode_top

    try:
        model = get_backbone(args.backbone, include_top=True)
    except (ValueError, BackboneUnavailableError) as e:
        _err(str(e))
        return 2
    run = feature_extractor(model)
    results, failed = [], 0
    for path in args.images:
        try:
            image = load_image(path, 224)
        except ImageError as e:
            _err(str(e))
            failed += 1
            continue
        top = decode_top(run(image[None]).numpy(), args.top)[0]
        results.append({"file": path, "top": top})
        if not args.json:
            print(path)
            for t in top:
                print(f"  {t['prob']:6.1%}  {t['label']} ({t['index']})")
    if args.json:
        print(json.dumps(results, indent=2))
    if failed:
        _err(f"{failed} of {len(args.images)} images could not be read")
        return 1
    return 0


def _add_predict(sub):
    p = sub.add_parser("predict", help="top-K ImageNet classes of images")
    p.add_argument("images", nargs="+", metavar="IMAGE")
    p.add_argument("--backbone", default="efficientnet_lite0")
    p.add_argument("--top", type=int, default=5)
    p.add_argument("--json", action="store_true", help="print one JSON list")
    p.set_defaults(func=cmd_predict)


# --------------------------------------------------------------------- data

def cmd_data_fetch(args) -> int:
    from helpers.data import DatasetUnavailableError, UnsafeArchiveError, fetch

    try:
        path = fetch(args.name, args.dest)
    except (DatasetUnavailableError, UnsafeArchiveError, ValueError) as e:
        _err(str(e))
        return 1
    print(f"{args.name} is ready in {path}")
    return 0


def cmd_data_check(args) -> int:
    from helpers.data import check_folder

    try:
        report = check_folder(args.folder, labels=args.labels, layout=args.layout,
                              progress=not args.json)
    except (FileNotFoundError, NotADirectoryError) as e:
        _err(str(e))
        return 2
    if args.json:
        print(json.dumps(report.to_json(), indent=2))
    else:
        counts = report.counts()
        print(f"{report.root}: {len(report.files)} usable images in {len(counts)} classes "
              f"({report.layout} layout, labels: {args.labels})")
        for label, n in counts.items():
            print(f"  {n:6d}  {label}")
        if report.bad:
            print(f"{len(report.bad)} unusable files (left in place, excluded by the pipelines):")
            for b in report.bad:
                print(f"  {b['file']}: {b['reason']}")
        if report.skipped:
            print(f"{len(report.skipped)} other files ignored (not image names)")
    return 0 if report.files else 1


def _add_data(sub):
    p = sub.add_parser("data", help="pre-stage (fetch) or check (offline) datasets")
    dsub = p.add_subparsers(dest="data_command", required=True)
    f = dsub.add_parser("fetch", help="download, verify and extract a dataset (online)")
    f.add_argument("name", help="cats_vs_dogs or oxford_pets")
    f.add_argument("--dest", default=None, help="folder to stage into (default: the cache)")
    f.set_defaults(func=cmd_data_fetch)
    c = dsub.add_parser("check", help="scan an image folder; never changes it")
    c.add_argument("folder")
    c.add_argument("--labels", choices=["species", "breed"], default="breed",
                   help="for Oxford-style names: species (cat/dog) or breed")
    c.add_argument("--layout", choices=["oxford", "subfolders"], default=None)
    c.add_argument("--json", action="store_true")
    c.set_defaults(func=cmd_data_check)


# ------------------------------------------------------------------- course

def cmd_course(args) -> int:
    from helpers import course

    notebooks = args.notebooks or None
    if args.store_checked:
        for path in notebooks or course.course_notebooks():
            kept = course.store_checked(path, env={"TL_PROFILE": args.profile or "ci"})
            print(f"{path}: kept the outputs of {kept} checked cells")
        return 0
    return course.run_course(args.out, notebooks, args.profile)


def _add_course(sub):
    p = sub.add_parser("course", help="run every notebook headless into an output folder")
    p.add_argument("notebooks", nargs="*", help="default: notebooks/ then lab/")
    p.add_argument("--out", default="output")
    p.add_argument("--profile", choices=["full", "ci"], default=None,
                   help="overrides TL_PROFILE for the run")
    p.add_argument("--store-checked", action="store_true",
                   help="(maintainers) refresh the outputs nbval compares, strip the rest")
    p.set_defaults(func=cmd_course)


_ADDERS = [_add_predict, _add_data, _add_course]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m helpers", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for adder in _ADDERS:
        adder(sub)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)
