"""The parsers of ``python -m helpers grade`` (one submission, or a whole class into a
gradebook, or one shard of it), ``gradebook merge`` (the shards into one) and
``evaluate`` (your own classifier, notebook 05).

The lab (``lab/README.md``); the commands are :mod:`helpers.grader.commands`.
"""

from __future__ import annotations

from helpers.grader import commands


def add_grade(sub) -> None:
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
    p.add_argument("--min-top1", type=float, default=commands.MIN_TOP1,
                   help=f"pass line, top-1 accuracy (default {commands.MIN_TOP1}; one model "
                        "or a class)")
    p.add_argument("--min-top3", type=float, default=commands.MIN_TOP3,
                   help=f"pass line, top-3 accuracy (default {commands.MIN_TOP3}; one model "
                        "or a class)")
    p.add_argument("--seed", type=int, help="order seed for a folder of submissions: the "
                                          "photos' order and batches (default: a fresh one, "
                                          "recorded in the gradebook)")
    p.add_argument("--shard", metavar="K/N",
                   help="grade only shard K (from 0) of N, e.g. $JOB_COMPLETION_INDEX/10; "
                        "needs --seed; merge the parts with `gradebook merge`")
    p.add_argument("--json", dest="as_json", action="store_true")
    p.set_defaults(func=commands.cmd_grade)


def add_gradebook(sub) -> None:
    g = sub.add_parser("gradebook", help="merge the shards of a class graded on many machines")
    gsub = g.add_subparsers(dest="action", required=True)
    m = gsub.add_parser("merge", help="check the N parts against each other and write one "
                                      "gradebook and its feedback")
    m.add_argument("parts", nargs="+", metavar="PART",
                   help="the .part.json of every shard (or the CSV it sits beside)")
    m.add_argument("--out", required=True, help="the gradebook CSV to write")
    m.add_argument("--feedback-dir", help="default: feedback/ beside the gradebook")
    m.set_defaults(func=commands.cmd_merge)


def add_evaluate(sub) -> None:
    e = sub.add_parser("evaluate", help="accuracy of a saved classifier on a folder of "
                                        "labelled photos")
    e.add_argument("model", metavar="MODEL.keras")
    e.add_argument("--test-dir", required=True, help="a subfolder of photos per class, or "
                                                      "Oxford names")
    e.add_argument("--json", dest="as_json", action="store_true")
    e.set_defaults(func=commands.cmd_evaluate)
