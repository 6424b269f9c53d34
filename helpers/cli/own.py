"""``python -m helpers train`` and ``evaluate``: classifiers for your own photos.

Introduced at the end of notebook 05 (see :mod:`helpers.lessons.own_photos`).
"""

from __future__ import annotations

import json

from helpers.cli.common import err


def cmd_train(args) -> int:
    from helpers.lessons.own_photos import (AUTO_BACKBONES, MIN_PER_CLASS, PhotoFolderError,
                                            format_report, read_class_folder, train_folder)

    try:  # the folders first: a bad one is reported before Keras loads (seconds)
        read_class_folder(args.folder, min_per_class=5 if args.test_dir else MIN_PER_CLASS,
                          quiet=True)  # train_folder reads them again (cached) and says it
        if args.test_dir:
            read_class_folder(args.test_dir, min_per_class=1, role="test", quiet=True)
    except PhotoFolderError as e:
        err(str(e))
        return 2
    from helpers.models.backbones import available_backbones

    backbones = list(AUTO_BACKBONES) if args.backbone == "auto" else [args.backbone]
    unknown = [b for b in backbones if b not in available_backbones()]
    if unknown:
        err(f"unknown backbone {unknown[0]!r}; use auto or one of "
             f"{', '.join(available_backbones())}")
        return 2
    try:
        report = train_folder(args.folder, args.out, test_dir=args.test_dir, backbones=backbones,
                              seed=args.seed, progress=not args.json)
    except PhotoFolderError as e:
        err(str(e))
        return 2
    print(json.dumps(report, indent=2) if args.json else format_report(report))
    return 0


def cmd_evaluate(args) -> int:
    from helpers.grader.grade import format_report, grade

    result = grade(args.model, args.test_dir, min_top1=0.0, min_top3=0.0)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(format_report(result).rsplit("\n", 1)[0] if "error" not in result
              else f"error: {result['error']}")
    return 0 if "error" not in result else 1


def add_commands(sub) -> None:
    t = sub.add_parser("train", help="train a classifier on your own folder of photos "
                                     "(DIR/<class>/*)")
    t.add_argument("folder", metavar="DIR", help="a folder with one subfolder of photos per class")
    t.add_argument("--out", required=True, help="the .keras file to write")
    t.add_argument("--test-dir", help="test photos in the same layout (default: 20%% of DIR, "
                                      "set aside before any choice)")
    t.add_argument("--backbone", default="auto", help="auto (chosen by cross-validation) or a "
                                                      "backbone name")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--json", action="store_true")
    t.set_defaults(func=cmd_train)
    e = sub.add_parser("evaluate", help="accuracy of a saved classifier on a folder of "
                                        "labelled photos")
    e.add_argument("model", metavar="MODEL.keras")
    e.add_argument("--test-dir", required=True, help="a subfolder of photos per class, or "
                                                      "Oxford names")
    e.add_argument("--json", action="store_true")
    e.set_defaults(func=cmd_evaluate)
