"""The ``python -m helpers data`` commands as functions: fetch datasets (from their
sources or an instructor's pack), write a pack, check a folder of photos. Introduced in
notebook 01; the parser is :mod:`helpers.cli.data`. Each returns the exit code.
"""

from __future__ import annotations

import json

from helpers.console import err


def cmd_data_fetch(*, names=(), every=False, source=None, dest=None) -> int:
    """Stage ``names`` (or, with a pack's address ``source``, ``every`` dataset of it)."""
    from helpers.data.archives import UnsafeArchiveError
    from helpers.data.packs import PackError, fetch_pack
    from helpers.data.sources import DatasetUnavailableError, ManifestMismatchError, fetch

    if source:  # an instructor's pack
        try:
            ready = fetch_pack(source, dest, names=None if every else names)
        except PackError as e:
            err(str(e))
            return 1
        print(f"{len(ready)} datasets ready: {', '.join(sorted(ready))}")
        return 0
    if every or not names:
        err("name the datasets to download (cats_and_dogs_filtered, cats_vs_dogs, "
            "oxford_pets), or fetch a pack: --all --from URL")
        return 2
    for name in names:
        try:
            path = fetch(name, dest)
        except (DatasetUnavailableError, UnsafeArchiveError, ManifestMismatchError,
                ValueError) as e:
            err(str(e))
            return 1
        print(f"{name} is ready in {path}")
    return 0


def cmd_data_pack(*, dest, names=(), data_dir=None) -> int:
    """Write the datasets staged in ``data_dir`` (default: TL_DATA_DIR) as a pack."""
    from helpers.data.packs import PackError, write_pack

    try:
        index = write_pack(dest, data_dir, names=names or None)
    except (PackError, OSError) as e:
        err(str(e))
        return 1
    total = sum(d["bytes"] for d in index["datasets"].values())
    print(f"{len(index['datasets'])} datasets ({total / 1e6:.1f} MB) packed into {dest}; "
          f"serve that folder and give students: python -m helpers data fetch --all "
          f"--from URL")
    return 0


def print_report(report, labels) -> None:
    """A folder's check, as ``data check`` prints it."""
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


def cmd_data_check(*, folder, labels="breed", layout=None, as_json=False) -> int:
    """Scan ``folder`` (never changing it) and compare it with its manifest, if any."""
    from pathlib import Path

    from helpers.data.folders import check_folder, detect_layout
    from helpers.data.sources import format_manifest_problems, manifest_for, verify_manifest

    root = Path(folder)
    try:
        layout = layout or (detect_layout(root) if root.is_dir() else None)
        parts = ([root / p.name for p in sorted(root.iterdir()) if p.is_dir()
                  and not p.name.startswith(".")] if layout == "splits" else [root])
        reports = [check_folder(part, labels=labels,
                                layout="subfolders" if layout == "splits" else layout,
                                progress=not as_json) for part in parts]
    except (FileNotFoundError, NotADirectoryError) as e:
        err(str(e))
        return 2
    manifest = manifest_for(root)
    problems = verify_manifest(root, manifest) if manifest else {}
    if as_json:
        out = [r.to_json() for r in reports]
        result = out[0] if layout != "splits" else {"root": str(root), "splits": out}
        if manifest:
            result["manifest"] = {"file": manifest, "problems": problems}
        print(json.dumps(result, indent=2))
    else:
        for report in reports:
            print_report(report, labels)
        if manifest:
            print(format_manifest_problems(root, problems) if problems else
                  f"{root}: every file matches the manifest {manifest}")
    if problems:
        err(f"{root} differs from its manifest (see above); nothing was changed")
        return 1
    return 0 if all(r.files for r in reports) else 1
