"""``python -m helpers grade``: one submission, or a whole class into a gradebook
(or one shard of it); ``python -m helpers gradebook merge``: the shards into one.

The lab (``lab/README.md``); see :mod:`helpers.grader.grade`, :mod:`helpers.grader.gradebook` and
:mod:`helpers.grader.shards`.
"""

from __future__ import annotations

import json

from helpers.cli.common import err


def cmd_grade(args) -> int:
    from pathlib import Path

    if Path(args.model).is_dir():
        return _grade_class(args)
    if args.shard:
        err("--shard grades a folder of submissions; give the folder, not one model")
        return 2
    from helpers.grader.grade import format_report, grade

    result = grade(args.model, args.test_dir, args.min_top1, args.min_top3,
                   timeout=args.timeout, memory_mb=args.memory_mb)
    print(json.dumps(result, indent=2) if args.json else format_report(result))
    return 0 if result["passed"] else 1


def _grade_class(args) -> int:
    from collections import Counter
    from pathlib import Path

    from helpers.grader.gradebook import grade_class
    from helpers.grader.gradesheet import pass_line
    from helpers.grader.shards import parse_shard

    if not args.out:
        err("grading a folder of submissions needs --out gradebook.csv")
        return 2
    try:
        shard = parse_shard(args.shard) if args.shard else None
        rows = grade_class(args.model, args.test_dir, args.out, args.feedback_dir,
                           workers=args.workers, timeout=args.timeout,
                           memory_mb=args.memory_mb, progress=not args.json, seed=args.seed,
                           shard=shard, min_top1=args.min_top1, min_top3=args.min_top3)
    except (OSError, ValueError) as e:
        err(str(e))
        return 2
    if args.json:
        print(json.dumps(rows, indent=2, default=str))
        return 0
    for row in rows:
        shown = (f"{row['score']:5.1f}  top-1 {row['top1']:.3f}" if row["status"] == "ok"
                 else f"{0:5.1f}  {row['status']}")
        print(f"  {row['student']:24} {shown}  {row['reason'][:90]}")
    counts = Counter(row["status"] for row in rows)
    print(f"{len(rows)} submissions: " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items())))
    print(f"{sum(bool(row['passed']) for row in rows)} passed "
          f"({pass_line(args.min_top1, args.min_top3)}: --min-top1, --min-top3)")
    if rows:
        print(f"order seed {rows[0]['order_seed']} (keep it to grade the same way again: --seed)")
    if shard is not None:
        from helpers.grader.shards import part_path

        print(f"shard {shard[0]}/{shard[1]}: {len(rows)} students; part {part_path(args.out)} "
              "(merge all N: python -m helpers gradebook merge PARTS... --out gradebook.csv)")
    print(f"gradebook: {args.out}; feedback for each student in "
          f"{args.feedback_dir or Path(args.out).parent / 'feedback'}/")
    return 0


def add_commands(sub) -> None:
    from helpers.grader.gradesheet import MIN_TOP1, MIN_TOP3

    p = sub.add_parser("grade", help="grade a saved lab model, or a folder of them, on a "
                                     "hidden test folder")
    p.add_argument("model", metavar="MODEL.keras|SUBMISSIONS/",
                   help="one .keras file, or a folder with one per student")
    p.add_argument("--test-dir", required=True,
                   help="folder of test photos (Oxford names, or a subfolder per class)")
    p.add_argument("--out", help="the gradebook CSV to write (for a folder of submissions)")
    p.add_argument("--feedback-dir", help="one feedback file per student (default: feedback/ "
                                          "beside the gradebook)")
    p.add_argument("--workers", type=int, default=2, help="submissions graded at once")
    p.add_argument("--timeout", type=float, default=120.0, help="seconds per submission")
    p.add_argument("--memory-mb", type=int, default=3000, help="memory per submission")
    p.add_argument("--min-top1", type=float, default=MIN_TOP1,
                   help=f"pass line, top-1 accuracy (default {MIN_TOP1}; one model or a class)")
    p.add_argument("--min-top3", type=float, default=MIN_TOP3,
                   help=f"pass line, top-3 accuracy (default {MIN_TOP3}; one model or a class)")
    p.add_argument("--seed", type=int, help="order seed for a folder of submissions: the "
                                          "photos' order and batches (default: a fresh one, "
                                          "recorded in the gradebook)")
    p.add_argument("--shard", metavar="K/N",
                   help="grade only shard K (from 0) of N, e.g. $JOB_COMPLETION_INDEX/10; "
                        "needs --seed; merge the parts with `gradebook merge`")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_grade)

    g = sub.add_parser("gradebook", help="merge the shards of a class graded on many machines")
    gsub = g.add_subparsers(dest="action", required=True)
    m = gsub.add_parser("merge", help="check the N parts against each other and write one "
                                      "gradebook and its feedback")
    m.add_argument("parts", nargs="+", metavar="PART",
                   help="the .part.json of every shard (or the CSV it sits beside)")
    m.add_argument("--out", required=True, help="the gradebook CSV to write")
    m.add_argument("--feedback-dir", help="default: feedback/ beside the gradebook")
    m.set_defaults(func=cmd_merge)


def cmd_merge(args) -> int:
    from collections import Counter
    from pathlib import Path

    from helpers.grader.shards import MergeError, merge

    try:
        rows = merge(args.parts, args.out, args.feedback_dir)
    except (MergeError, OSError) as e:
        err(str(e))
        return 2
    counts = Counter(row["status"] for row in rows)
    print(f"merged {len(args.parts)} parts: {len(rows)} students: "
          + ", ".join(f"{n} {s}" for s, n in sorted(counts.items())))
    print(f"gradebook: {args.out}; feedback for each student in "
          f"{args.feedback_dir or Path(args.out).parent / 'feedback'}/")
    return 0
