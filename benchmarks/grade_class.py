"""Grading a class (issue: grading a class): 40 submissions on a 180-photo test folder.

Builds a real breed classifier (Lite0 features of pets-mini's other photos + a
logistic-regression head), hands it in 40 times under different student names
(every copy is loaded, run and scored on its own: nothing is shared but the
decoded test photos), and times ``gradebook.grade_class`` on 2 workers: seconds
for the first submission, per submission after it, and in all.

``--sizing`` measures what sizes a class graded in shards (issue #36): the CLI as a
pod or an array task runs it (``python -m helpers grade ... --shard 0/1 --seed 1
--workers 1``), in a process of its own, on test folders of 90, 180 and all 365 of
pets-mini's photos (timing only: that model saw them), for a shard of 0, 1 and 16
submissions. It prints a shard's fixed cost (start, imports, checking and
digesting the test folder; then the worker server and the photos decoded once),
the seconds per submission after the first, a straight-line fit of that against
the number of photos, and the table in lab/GRADING.md: hours of wall time for a class of
500, 5,000 and 50,000 on 1, 10 and 100 machines of this size, against 180 and
3,669 photos (the fit extrapolated), for the largest shard that the sha256 of the
names gives.

Usage: TL_DATA_DIR=../shared/data python benchmarks/grade_class.py [--students 40]
       TL_DATA_DIR=../shared/data python benchmarks/grade_class.py --sizing
"""

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression

from helpers.data import folders, sources
from helpers.models import features
from helpers.lessons import train
from helpers.grader import gradebook


def shard_seconds(subs, test_dir, out, workers=1) -> float:
    """One shard graded as a pod runs it: the CLI in a process of its own."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "helpers", "grade", str(subs), "--test-dir",
                    str(test_dir), "--out", str(out), "--shard", "0/1", "--seed", "1",
                    "--workers", str(workers), "--json"], check=True, capture_output=True)
    return time.perf_counter() - start


def largest_shard(students: int, machines: int) -> int:
    from helpers.grader.shards import shard_of

    counts = np.bincount([shard_of(f"student{i:05d}", machines) for i in range(students)],
                         minlength=machines)
    return int(counts.max())


def sizing(report, paths, classes, y, tmp, students=16):
    x = features.cached_features("efficientnet_lite0", paths, progress=False)
    clf = LogisticRegression(C=0.3, max_iter=3000).fit(x, y)
    model, _ = train.build_classifier(train.linear_head(clf))
    first = train.save_classifier(model, tmp / "model.keras", classes)
    order = np.random.default_rng(0).permutation(len(paths))
    fits, fixed = {}, {}
    for n in (90, 180, len(paths)):
        test_dir = tmp / f"test{n}"
        test_dir.mkdir()
        for i in order[:n]:
            (test_dir / Path(paths[i]).name).symlink_to(paths[i])
        runs = {}
        for count in (0, 1, students):
            subs = tmp / f"subs{n}-{count}"
            subs.mkdir()
            for k in range(count):
                shutil.copy(first, subs / f"student{k:02d}.keras")
            runs[count] = shard_seconds(subs, test_dir, tmp / f"out{n}-{count}" / "part.csv")
        per = (runs[students] - runs[1]) / (students - 1)
        fits[n], fixed[n] = per, runs[1] - per
        print(f"{n:4d} test photos, 1 worker: empty shard {runs[0]:.1f} s; one submission "
              f"{runs[1]:.1f} s (server start and decoding {runs[1] - runs[0] - per:.1f} s); "
              f"{students}: {runs[students]:.1f} s, {per:.2f} s per submission after the first",
              flush=True)
        if n == 180:
            two = shard_seconds(subs, test_dir, tmp / "out-two" / "part.csv", workers=2)
            print(f"      2 workers, {students} submissions: {two:.1f} s, "
                  f"{(two - runs[1]) / (students - 1):.2f} s per submission after the first")
    photos = np.array(sorted(fits))
    slope, intercept = np.polyfit(photos, [fits[n] for n in photos], 1)
    fixed_slope, fixed_intercept = np.polyfit(photos, [fixed[n] for n in photos], 1)
    print(f"per submission ~ {intercept:.2f} s + {1000 * slope:.2f} ms x photos; a shard's "
          f"fixed cost ~ {fixed_intercept:.1f} s + {1000 * fixed_slope:.1f} ms x photos (fits "
          f"on {', '.join(map(str, photos))} photos)")
    print("\n| class | photos | 1 machine | 10 machines | 100 machines |")
    print("|---|---|---|---|---|")
    for class_size in (500, 5000, 50000):
        for n in (180, 3669):
            per = intercept + slope * n
            start = fixed_intercept + fixed_slope * n
            cells = []
            for machines in (1, 10, 100):
                big = largest_shard(class_size, machines)
                hours = (start + big * per) / 3600
                cells.append(f"{hours:.1f} h ({big} in the largest shard)" if hours >= 0.1
                             else f"{60 * hours:.0f} min ({big})")
            print(f"| {class_size:,} | {n:,} | " + " | ".join(cells) + " |")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--students", type=int, default=40)
    parser.add_argument("--test-photos", type=int, default=180)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--sizing", action="store_true",
                        help="time shards as pods run them; print lab/GRADING.md's table")
    args = parser.parse_args()
    report = folders.check_folder(sources.find_dataset("pets-mini"), labels="breed")
    rng = np.random.default_rng(0)
    order = rng.permutation(len(report.files))
    test, rest = order[:args.test_photos], order[args.test_photos:]
    paths, labels = report.paths(), np.array(report.labels)
    classes = sorted(set(report.labels))
    y = np.array([classes.index(label) for label in labels])
    if args.sizing:
        with tempfile.TemporaryDirectory() as tmp:
            sizing(report, paths, classes, y, Path(tmp))
        return
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
