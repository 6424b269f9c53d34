"""A class graded in shards on many machines, merged into one gradebook.

Introduced with the lab (``lab/README.md``, "A class of thousands"). A class too
big for one machine is graded as N shards, each by its own process (a pod of a
Kubernetes Indexed Job, a task of a Slurm array)::

    python -m helpers grade SUBMISSIONS/ --test-dir TEST/ --seed 7 --shard K/N \\
        --out parts/part-K.csv
    python -m helpers gradebook merge parts/*.part.json --out gradebook.csv

A student's shard is the sha256 of their name modulo N (:func:`shard_of`), never
Python's ``hash()``, which changes from process to process: a re-run, or a late
submission added to the folder, leaves every other student in the shard they had.
Each shard writes its part of the gradebook (CSV), its students' feedback files and
a ``.part.json`` beside the CSV that records K and N, the order seed, the pass
thresholds, the test set's digest, the grader's version and the roster (every
student found in the folder), with the shard's rows. :func:`merge` checks the
parts against each other and refuses, naming what is wrong, unless they are all
N shards of one grading: one test set, seed, pair of thresholds, version and
roster, every student graded exactly once, in their own shard. It then writes the
gradebook and feedback that one run on one machine writes with that seed.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from helpers import settings
from helpers.grader.gradesheet import MIN_TOP1, MIN_TOP3, clean, write_gradebook

FORMAT = "tl-course gradebook part, version 2"
PART_SUFFIX = ".part.json"
# what the grade of a submission depends on: these modules' code, and these packages
GRADER_MODULES = ("data.folders", "grader.gradebook", "grader.gradesheet", "grader.sandbox",
                  "data.images", "lessons.metrics", "grader.shards", "grader.inspection",
                  "grader.testphotos")
GRADER_PACKAGES = ("keras", "tensorflow", "numpy", "pillow")


class MergeError(ValueError):
    """The parts are not the N shards of one grading; the message says why, by name."""


def shard_of(student: str, shards: int) -> int:
    """The shard, 0 to ``shards - 1``, that grades ``student``: the sha256 of the
    name (UTF-8) modulo ``shards``, the same in every process and on every machine."""
    digest = hashlib.sha256(str(student).encode("utf-8", "replace")).digest()
    return int.from_bytes(digest, "big") % int(shards)


def parse_shard(text: str) -> tuple[int, int]:
    """``"K/N"`` (K counted from 0, as Kubernetes' ``JOB_COMPLETION_INDEX``) as
    ``(K, N)``; a clear ``ValueError`` for anything else."""
    try:
        k, n = (int(part) for part in str(text).split("/"))
    except ValueError:
        raise ValueError(f"--shard {text!r}: write K/N, e.g. 0/4 for the first of 4 shards "
                         "(K counts from 0)") from None
    if n < 1 or not 0 <= k < n:
        raise ValueError(f"--shard {text}: K must be 0 to N-1 and N at least 1 (the shards of "
                         f"4 are 0/4, 1/4, 2/4 and 3/4)")
    return k, n


def grader_version() -> str:
    """The package version and a digest of the grading code and of the versions of
    the packages it runs on: two machines that could grade differently do not merge."""
    from importlib.metadata import PackageNotFoundError, version

    from helpers import __version__

    h = hashlib.sha256()
    for name in GRADER_MODULES:
        h.update((Path(__file__).parents[1] / f"{name.replace('.', '/')}.py").read_bytes())
    for package in GRADER_PACKAGES:
        try:
            h.update(f"{package}=={version(package)}".encode())
        except PackageNotFoundError:
            h.update(f"{package} missing".encode())
    return f"{__version__}+{h.hexdigest()[:12]}"


def part_path(out_csv) -> Path:
    """The ``.part.json`` written beside a shard's CSV."""
    out_csv = Path(out_csv)
    return out_csv.with_name(out_csv.stem + PART_SUFFIX)


def _plain(value):
    """``value`` as JSON can hold it (numpy numbers and booleans become Python's)."""
    return value.item() if hasattr(value, "item") else value


def write_part(rows, roster, shard, seed, test_digest, out_csv, columns,
               thresholds=(MIN_TOP1, MIN_TOP3)) -> Path:
    """Write the ``.part.json`` of shard ``shard = (K, N)`` beside ``out_csv``; its
    rows were passed against ``thresholds = (min_top1, min_top3)``."""
    k, n = shard
    part = {"format": FORMAT, "shard": k, "shards": n, "order_seed": int(seed),
            "min_top1": float(thresholds[0]), "min_top3": float(thresholds[1]),
            "test_digest": test_digest, "grader_version": grader_version(),
            "roster": sorted(roster),
            "rows": [{key: _plain(row.get(key, "")) for key in ["student_key", *columns]}
                     for row in rows]}
    path = part_path(out_csv)
    settings.atomic_write_text(path, json.dumps(part, indent=1) + "\n")  # ASCII: any name
    return path


def read_part(path) -> dict:
    """One part, from its ``.part.json`` (or the CSV it sits beside)."""
    path = Path(path)
    if path.suffix == ".csv":
        path = part_path(path)
    try:
        part = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise MergeError(f"{path}: no such part; each shard writes one beside its CSV "
                         "(python -m helpers grade ... --shard K/N --out PART.csv)") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise MergeError(f"{path}: not a readable gradebook part ({e}); run its shard "
                         "again") from None
    if not isinstance(part, dict) or part.get("format") != FORMAT:
        raise MergeError(f"{path}: not a gradebook part written by this grader "
                         f"(expected format {FORMAT!r}); run its shard again")
    fields = {"shard": int, "shards": int, "order_seed": int, "min_top1": float,
              "min_top3": float, "test_digest": str,
              "grader_version": str, "roster": list, "rows": list}
    broken = [k for k, kind in fields.items() if not isinstance(part.get(k), kind)]
    broken += ["rows"] * any(not isinstance(r, dict) or not isinstance(r.get("student_key"), str)
                             for r in part.get("rows") or [])
    if broken:
        raise MergeError(f"{path}: a damaged gradebook part ({', '.join(sorted(set(broken)))} "
                         "missing or wrong); run its shard again")
    part["path"] = str(path)
    return part


def _names(items, most=10) -> str:
    items = sorted(items)
    shown = ", ".join(clean(item) for item in items[:most])
    return shown + (f" and {len(items) - most} more" if len(items) > most else "")


def check_parts(parts) -> list[str]:
    """Every reason the parts are not the N shards of one grading (empty: they are)."""
    if not parts:
        return ["no parts given"]
    problems = []
    for key, what in (("shards", "number of shards N"), ("test_digest", "hidden test set"),
                      ("order_seed", "order seed"), ("min_top1", "pass threshold --min-top1"),
                      ("min_top3", "pass threshold --min-top3"),
                      ("grader_version", "grader version")):
        values = {}
        for p in parts:
            values.setdefault(str(p.get(key)), []).append(Path(p["path"]).name)
        if len(values) > 1:
            problems.append(f"the parts differ in their {what}: " + "; ".join(
                f"{v[:16]} in {_names(files)}" for v, files in sorted(values.items())))
    rosters = [set(p.get("roster", [])) for p in parts]
    everyone = set().union(*rosters)
    for p, roster in zip(parts, rosters):
        if roster != everyone:
            problems.append(f"{Path(p['path']).name} did not see {_names(everyone - roster)} "
                            f"in the submissions folder: the folder changed while the shards "
                            f"ran; run every shard again on the folder as it is now (a "
                            f"re-run grades each student in the same shard with the same seed)")
    if problems:                      # the shards below are only meaningful for one grading
        return problems
    n = int(parts[0]["shards"])
    by_shard = {}
    for p in parts:
        by_shard.setdefault(int(p["shard"]), []).append(Path(p["path"]).name)
    for k, files in sorted(by_shard.items()):
        if len(files) > 1:
            problems.append(f"shard {k}/{n} was given {len(files)} times: {_names(files)}; "
                            "keep one")
        if not 0 <= k < n:
            problems.append(f"{_names(files)}: shard {k} is not one of 0 to {n - 1}")
    missing = [k for k in range(n) if k not in by_shard]
    if missing:
        problems.append(f"missing shard{'s' if len(missing) > 1 else ''} "
                        f"{', '.join(f'{k}/{n}' for k in missing)}: run "
                        f"`python -m helpers grade ... --shard K/{n}` for "
                        f"{'each' if len(missing) > 1 else 'it'} with the same --seed")
    graded = {}
    for p in parts:
        for row in p.get("rows", []):
            graded.setdefault(row["student_key"], []).append((int(p["shard"]),
                                                              Path(p["path"]).name))
    everyone = set(parts[0]["roster"])
    lost = [s for s in everyone - set(graded) if shard_of(s, n) not in missing]
    if lost:
        problems.append(f"not graded by their shard: {_names(lost)}")
    twice = [s for s, where in graded.items() if len(where) > 1]
    if twice:
        problems.append("graded more than once: " + "; ".join(
            f"{clean(s)} (in {_names(f for _, f in graded[s])})" for s in sorted(twice)))
    strangers = set(graded) - everyone
    if strangers:
        problems.append(f"graded but not in the roster: {_names(strangers)}")
    misplaced = [s for s, where in graded.items()
                 if any(k != shard_of(s, n) for k, _ in where)]
    if misplaced:
        problems.append("graded by the wrong shard: " + "; ".join(
            f"{clean(s)} (belongs to shard {shard_of(s, n)}/{n})" for s in sorted(misplaced)[:10]))
    return problems


def merge(paths, out_csv, feedback_dir=None) -> list[dict]:
    """Merge the parts at ``paths`` into the gradebook ``out_csv`` and one feedback
    file per student (default: ``feedback/`` beside it), as one run on one machine
    with the same seed writes them; :class:`MergeError` if they are not the N shards
    of one grading. Returns the rows, sorted by student."""
    parts = [read_part(p) for p in paths]
    problems = check_parts(parts)
    if problems:
        raise MergeError("the parts cannot be merged:\n  " + "\n  ".join(problems))
    rows = sorted((row for p in parts for row in p["rows"]), key=lambda r: r["student_key"])
    return write_gradebook(rows, out_csv, feedback_dir, parts[0]["min_top1"],
                           parts[0]["min_top3"])
