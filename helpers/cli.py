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


_ADDERS = [_add_predict]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m helpers", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for adder in _ADDERS:
        adder(sub)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)
