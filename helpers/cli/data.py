"""``python -m helpers data``: fetch datasets (from their sources or an instructor's
pack), write a pack, check a folder of photos. Introduced in notebook 01."""

from __future__ import annotations

import json

from helpers.cli.common import err as _err


def cmd_data_fetch(args) -> int:
    from helpers.data.archives import UnsafeArchiveError
    from helpers.data.packs import PackError, fetch_pack
    from helpers.data.sources import DatasetUnavailableError, ManifestMismatchError, fetch

    if args.source:  # an instructor's pack
        try:
            ready = fetch_pack(args.source, args.dest, names=None if args.all else args.names)
        except PackError as e:
            _err(str(e))
            return 1
        print(f"{len(ready)} datasets ready: {', '.join(sorted(ready))}")
        return 0
    if args.all or not args.names:
        _err("name the datasets to download (cats_and_dogs_filtered, cats_vs_dogs, "
             "oxford_pets), or fetch a pack: --all --from URL")
        return 2
    for name in args.names:
        try:
            path = fetch(name, args.dest)
        except (DatasetUnavailableError, UnsafeArchiveError, ManifestMismatchError,
                ValueError) as e:
            _err(str(e))
            return 1
        print(f"{name} is ready in {path}")
    return 0


def cmd_data_pack(args) -> int:
    from helpers.data.packs import PackError, write_pack

    try:
        index = write_pack(args.dest, args.data_dir, names=args.names or None)
    except (PackError, OSError) as e:
        _err(str(e))
        return 1
    total = sum(d["bytes"] for d in index["datasets"].values())
    print(f"{len(index['datasets'])} datasets ({total / 1e6:.1f} MB) packed into {args.dest}; "
          f"serve that folder and give students: python -m helpers data fetch --all "
          f"--from URL")
    return 0


def _print_report(report, labels) -> None:
    counts = report.counts()
    print(f"{report.root}: {len(report.files)} usable images in {len(counts)} classes "
          f"({report.layout} layout, labels: {labels})")
    for label, n in counts.items():
        print(f"  {n:6d}  {label}")
    if report.bad:
        print(f"{len(report.bad)} unusable files (left in place, excluded by the pipelines):")
        for b in report.bad:
            print(f"  {b['file']}: {b['reason']}")
    if report.skipped:
        print(f"{len(report.skipped)} other files ignored (not image names)")
    print(f"report (honoured by the pipelines): {report.to_json()['report']}")


def cmd_data_check(args) -> int:
    from pathlib import Path

    from helpers.data.folders import check_folder, detect_layout
    from helpers.data.sources import format_manifest_problems, manifest_for, verify_manifest

    root = Path(args.folder)
    try:
        layout = args.layout or (detect_layout(root) if root.is_dir() else None)
        parts = ([root / p.name for p in sorted(root.iterdir()) if p.is_dir()
                  and not p.name.startswith(".")] if layout == "splits" else [root])
        reports = [check_folder(part, labels=args.labels,
                                layout="subfolders" if layout == "splits" else layout,
                                progress=not args.json) for part in parts]
    except (FileNotFoundError, NotADirectoryError) as e:
        _err(str(e))
        return 2
    manifest = manifest_for(root)
    problems = verify_manifest(root, manifest) if manifest else {}
    if args.json:
        out = [r.to_json() for r in reports]
        result = out[0] if layout != "splits" else {"root": str(root), "splits": out}
        if manifest:
            result["manifest"] = {"file": manifest, "problems": problems}
        print(json.dumps(result, indent=2))
    else:
        for report in reports:
            _print_report(report, args.labels)
        if manifest:
            print(format_manifest_problems(root, problems) if problems else
                  f"{root}: every file matches the manifest {manifest}")
    if problems:
        _err(f"{root} differs from its manifest (see above); nothing was changed")
        return 1
    return 0 if all(r.files for r in reports) else 1


def add_commands(sub):
    p = sub.add_parser("data", help="fetch, pack or check (offline) the course's datasets")
    dsub = p.add_subparsers(dest="data_command", required=True)
    f = dsub.add_parser("fetch", help="download, verify and extract datasets: from their "
                        "public source, or from an instructor's pack (--from URL)")
    f.add_argument("names", nargs="*", help="cats_and_dogs_filtered, cats_vs_dogs, oxford_pets "
                   "(with --from: names in the pack)")
    f.add_argument("--all", action="store_true", help="every dataset of the pack (with --from)")
    f.add_argument("--from", dest="source", metavar="URL", default=None,
                   help="the address of a pack made by `data pack`")
    f.add_argument("--dest", default=None, help="folder to stage into (default: the cache)")
    f.set_defaults(func=cmd_data_fetch)
    k = dsub.add_parser("pack", help="write every dataset staged under TL_DATA_DIR as one "
                        "archive each, with checksums, for a web server")
    k.add_argument("dest", help="the folder to write the pack into")
    k.add_argument("names", nargs="*", help="only these datasets (default: all)")
    k.add_argument("--data-dir", default=None, help="the staged data (default: TL_DATA_DIR)")
    k.set_defaults(func=cmd_data_pack)
    c = dsub.add_parser("check", help="scan an image folder; never changes it")
    c.add_argument("folder")
    c.add_argument("--labels", choices=["species", "breed"], default="breed",
                   help="for Oxford-style names: species (cat/dog) or breed")
    c.add_argument("--layout", choices=["oxford", "subfolders", "splits"], default=None)
    c.add_argument("--json", action="store_true")
    c.set_defaults(func=cmd_data_check)
