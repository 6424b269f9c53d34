"""Grading a class (issue: grading a class): 40 submissions on a 180-photo test folder.

Builds a real breed classifier (Lite0 features of pets-mini's other photos + a
logistic-regression head), hands it in 40 times under different student names
(every copy is loaded, run and scored on its own: nothing is shared but the
decoded test photos), and times ``gradebook.grade_class`` on 2 workers: seconds
for the first submission, per submission after it, and in all.

Usage: TL_DATA_DIR=../shared/data python benchmarks/grade_class.py [--students 40]
"""

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression

from helpers import features, folders, gradebook, sources, train


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--students", type=int, default=40)
    parser.add_argument("--test-photos", type=int, default=180)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    report = folders.check_folder(sources.find_dataset("pets-mini"), labels="breed")
    rng = np.random.default_rng(0)
    order = rng.permutation(len(report.files))
    test, rest = order[:args.test_photos], order[args.test_photos:]
    paths, labels = report.paths(), np.array(report.labels)
    classes = sorted(set(report.labels))
    y = np.array([classes.index(label) for label in labels])
    x = features.cached_features("efficientnet_lite0", [paths[i] for i in rest], progress=False)
    clf = LogisticRegression(C=0.3, max_iter=3000).fit(x, y[rest])
    model, _ = train.build_classifier(train.linear_head(clf))
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        first = train.save_classifier(model, tmp / "model.keras", classes)
        subs, test_dir = tmp / "submissions", tmp / "test"
        subs.mkdir()
        test_dir.mkdir()
        for i in test:
            (test_dir / Path(paths[i]).name).symlink_to(paths[i])
        for k in range(args.students):
            shutil.copy(first, subs / f"student{k:02d}.keras")
        one = tmp / "one"
        one.mkdir()
        shutil.copy(first, one / "student00.keras")
        start = time.perf_counter()
        gradebook.grade_class(one, test_dir, tmp / "one.csv", workers=1, progress=False)
        single = time.perf_counter() - start
        start = time.perf_counter()
        rows = gradebook.grade_class(subs, test_dir, tmp / "all.csv", workers=args.workers,
                                     progress=False)
        total = time.perf_counter() - start
    statuses = {r["status"] for r in rows}
    print(f"{args.students} submissions, {len(test)} test photos, {args.workers} workers: "
          f"statuses {statuses}, top-1 {rows[0]['top1']:.3f}")
    print(f"  one submission alone (worker start, decoding, grading): {single:.1f} s")
    print(f"  whole class: {total:.1f} s in all, "
          f"{(total - single) / max(1, args.students - 1):.2f} s per submission after the first")


if __name__ == "__main__":
    main()
