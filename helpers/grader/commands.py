"""The grader's commands of ``python -m helpers`` as functions: ``grade`` (one
submission, or a whole class into a gradebook, or one shard of it), ``gradebook
merge`` (the shards into one) and ``evaluate`` (your own classifier, notebook 05).

The lab (``lab/README.md``); see :mod:`helpers.grader.grade`, :mod:`helpers.grader.gradebook`
and :mod:`helpers.grader.shards`. The parsers are :mod:`helpers.cli.grading`; each
function returns the exit code.
"""

from __future__ import annotations

import json

from helpers.console import err
from helpers.grader.gradesheet import MIN_TOP1, MIN_TOP3


def cmd_grade(*, model, test_dir, out=None, feedback_dir=None, workers=2, timeout=120.0,
              memory_mb=3000, min_top1=MIN_TOP1, min_top3=MIN_TOP3, seed=None, shard=None,
              as_json=False) -> int:
    """Grade one saved lab model, or a folder with one per student (``out``: the gradebook
    CSV; ``shard``: "K/N", only that shard of the class)."""
    from pathlib import Path

    if Path(model).is_dir():
        return _grade_class(model, test_dir, out, feedback_dir, workers=workers,
                            timeout=timeout, memory_mb=memory_mb, min_top1=min_top1,
                            min_top3=min_top3, seed=seed, shard=shard, as_json=as_json)
    if shard:
        err("--shard grades a folder of submissions; give the folder, not one model")
        return 2
    from helpers.grader.grade import format_report, grade

    result = grade(model, test_dir, min_top1, min_top3, timeout=timeout, memory_mb=memory_mb)
    print(json.dumps(result, indent=2) if as_json else format_report(result))
    return 0 if result["passed"] else 1


def _grade_class(folder, test_dir, out, feedback_dir, *, workers, timeout, memory_mb,
                 min_top1, min_top3, seed, shard, as_json) -> int:
    from collections import Counter
    from pathlib import Path

    from helpers.grader.gradebook import grade_class
    from helpers.grader.gradesheet import pass_line
    from helpers.grader.shards import parse_shard

    if not out:
        err("grading a folder of submissions needs --out gradebook.csv")
        return 2
    try:
        part = parse_shard(shard) if shard else None
        rows = grade_class(folder, test_dir, out, feedback_dir, workers=workers,
                           timeout=timeout, memory_mb=memory_mb, progress=not as_json,
                           seed=seed, shard=part, min_top1=min_top1, min_top3=min_top3)
    except (OSError, ValueError) as e:
        err(str(e))
        return 2
    if as_json:
        print(json.dumps(rows, indent=2, default=str))
        return 0
    for row in rows:
        shown = (f"{row['score']:5.1f}  top-1 {row['top1']:.3f}" if row["status"] == "ok"
                 else f"{0:5.1f}  {row['status']}")
        print(f"  {row['student']:24} {shown}  {row['reason'][:90]}")
    counts = Counter(row["status"] for row in rows)
    print(f"{len(rows)} submissions: " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items())))
    print(f"{sum(bool(row['passed']) for row in rows)} passed "
          f"({pass_line(min_top1, min_top3)}: --min-top1, --min-top3)")
    if rows:
        print(f"order seed {rows[0]['order_seed']} (keep it to grade the same way again: --seed)")
    if part is not None:
        from helpers.grader.shards import part_path

        print(f"shard {part[0]}/{part[1]}: {len(rows)} students; part {part_path(out)} "
              "(merge all N: python -m helpers gradebook merge PARTS... --out gradebook.csv)")
    print(f"gradebook: {out}; feedback for each student in "
          f"{feedback_dir or Path(out).parent / 'feedback'}/")
    return 0


def cmd_merge(*, parts, out, feedback_dir=None) -> int:
    """Check the shards' ``parts`` against each other; write one gradebook ``out``."""
    from collections import Counter
    from pathlib import Path

    from helpers.grader.shards import MergeError, merge

    try:
        rows = merge(parts, out, feedback_dir)
    except (MergeError, OSError) as e:
        err(str(e))
        return 2
    counts = Counter(row["status"] for row in rows)
    print(f"merged {len(parts)} parts: {len(rows)} students: "
          + ", ".join(f"{n} {s}" for s, n in sorted(counts.items())))
    print(f"gradebook: {out}; feedback for each student in "
          f"{feedback_dir or Path(out).parent / 'feedback'}/")
    return 0


def cmd_evaluate(*, model, test_dir, as_json=False) -> int:
    """The accuracy of a saved classifier on ``test_dir`` (notebook 05; no pass line)."""
    from helpers.grader.grade import format_report, grade

    result = grade(model, test_dir, min_top1=0.0, min_top3=0.0)
    if as_json:
        print(json.dumps(result, indent=2))
    else:
        print(format_report(result).rsplit("\n", 1)[0] if "error" not in result
              else f"error: {result['error']}")
    return 0 if "error" not in result else 1
