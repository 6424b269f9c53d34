"""Your own photos: ``python -m helpers train DIR --out model.keras``.

Introduced at the end of notebook 05. Any folder with a subfolder of photos per
class (``DIR/<class>/*``) becomes a classifier, by the honest recipe the lab
follows:

1. check the folder (unusable files are reported by name and left in place);
2. set test photos aside: a seeded, stratified 20%, or ``--test-dir``;
3. extract each candidate backbone's features once (cached), and choose the
   backbone and the head's regularisation by 5-fold cross-validation on the
   training photos only;
4. measure the chosen recipe once on the test photos: accuracy with its 95%
   interval, per-class recall, a confusion matrix and the worst mistakes;
5. refit on every labelled photo and save a ``.keras`` file with its class
   names, which ``predict --model`` and ``evaluate`` read.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import numpy as np

from helpers.lessons.metrics import ci_text

AUTO_BACKBONES = ("efficientnet_lite0", "efficientnet_lite1")
C_VALUES = (0.1, 0.3, 1.0, 3.0)
FOLDS = 5
TEST_SHARE = 0.2
MIN_PER_CLASS = 8      # 5 to cross-validate on, and some to test on


class PhotoFolderError(ValueError):
    """A folder of photos that cannot be trained on; the message says how to fix it."""


@dataclasses.dataclass
class Labelled:
    files: list[str]
    labels: np.ndarray
    class_names: list[str]
    bad: list[dict]


def read_class_folder(root, min_per_class=MIN_PER_CLASS, role="training",
                      quiet=False) -> Labelled:
    """The photos of ``root/<class>/*`` with their labels, or a
    :class:`PhotoFolderError` naming the problem and the fix. Class folders with no
    usable photo are left out, with a note on stderr (none when ``quiet``), so that
    ``train --json`` still prints only JSON on stdout."""
    import sys

    from helpers.data.folders import check_folder

    root = Path(root)
    if not root.exists():
        raise PhotoFolderError(f"{root}: no such folder (check the path)")
    if not root.is_dir():
        raise PhotoFolderError(f"{root}: is a file; give the folder that holds one subfolder "
                               "of photos per class")
    classes = sorted(d for d in root.iterdir() if d.is_dir() and not d.name.startswith("."))
    if not classes:
        raise PhotoFolderError(f"{root}: no class folders; put the photos of each class in "
                               f"its own subfolder ({root}/cats/*.jpg, {root}/dogs/*.jpg, ...)")
    for d in classes:
        nested = sorted(s.name for s in d.iterdir() if s.is_dir() and not s.name.startswith("."))
        if nested:
            raise PhotoFolderError(
                f"{d}: holds folders ({', '.join(nested[:3])}); photos in nested folders are "
                f"not read. Move them up into {d}/, or make each its own class folder in {root}/")
    report = check_folder(root, layout="subfolders", progress=True)
    counts = report.counts()
    if not report.files:
        raise PhotoFolderError(f"{root}: no usable photos in its class folders "
                               f"({len(report.bad)} unusable: run `python -m helpers data check "
                               f"{root}` for the list)")
    empty = [d.name for d in classes if d.name not in counts]
    if len(counts) < 2:
        raise PhotoFolderError(f"{root}: only one class with photos ({', '.join(counts)}); a "
                               "classifier needs at least two class folders")
    few = {name: n for name, n in counts.items() if n < min_per_class}
    if few:
        listed = ", ".join(f"{name} ({n})" for name, n in sorted(few.items()))
        raise PhotoFolderError(f"{root}: too few {role} photos in {listed}; each class needs at "
                               f"least {min_per_class} (20 or more for a useful estimate)")
    if empty and not quiet:
        print(f"note: {', '.join(empty)} in {root} hold no usable photos and are left out",
              file=sys.stderr)
    names = sorted(counts)
    index = {name: i for i, name in enumerate(names)}
    return Labelled(report.paths(), np.array([index[label] for label in report.labels]),
                    names, report.bad)


def cross_validate(features: dict, y, seed=0, c_values=C_VALUES):
    """Cross-validated accuracy of a logistic-regression head for every backbone and C.
    Returns rows ``(backbone, C, Accuracy)``, best first."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    from helpers.lessons.metrics import accuracy

    folds = StratifiedKFold(min(FOLDS, int(np.bincount(y).min())), shuffle=True,
                            random_state=seed)
    rows = []
    for name, x in features.items():
        for c in c_values:
            pred = cross_val_predict(LogisticRegression(C=c, max_iter=2000), x, y, cv=folds)
            rows.append((name, c, accuracy(y, pred)))
    return sorted(rows, key=lambda r: (-r[2].value, AUTO_BACKBONES.index(r[0])
                                       if r[0] in AUTO_BACKBONES else 9, r[1]))


def train_folder(root, out, test_dir=None, backbones=None, seed=0, report_dir=None,
                 progress=True) -> dict:
    """The whole recipe of the module's docstring; returns a JSON-ready report."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import recall_score
    from sklearn.model_selection import train_test_split

    from helpers.models import features as feats
    from helpers.lessons import train
    from helpers.lessons.metrics import accuracy

    start = time.perf_counter()
    backbones = list(backbones or AUTO_BACKBONES)
    data = read_class_folder(root, min_per_class=5 if test_dir else MIN_PER_CLASS)
    if test_dir:
        test = read_class_folder(test_dir, min_per_class=1, role="test")
        unknown = sorted(set(test.class_names) - set(data.class_names))
        if unknown:
            raise PhotoFolderError(f"{test_dir}: classes {', '.join(unknown)} are not in "
                                   f"{root}; the test folder must use the training folder's "
                                   "class names")
        remap = np.array([data.class_names.index(n) for n in test.class_names])
        train_files, y_train = data.files, data.labels
        test_files, y_test = test.files, remap[test.labels]
    else:
        index = np.arange(len(data.files))
        tr, te = train_test_split(index, test_size=TEST_SHARE, stratify=data.labels,
                                  random_state=seed)
        train_files, y_train = [data.files[i] for i in tr], data.labels[tr]
        test_files, y_test = [data.files[i] for i in te], data.labels[te]
    # Each photo's features depend on that photo alone: extract them for every photo
    # once (one cache entry), then keep the test rows out of every choice.
    all_files = list(train_files) + list(test_files)
    y_all = np.concatenate([y_train, y_test])
    n_train = len(train_files)
    every = {name: feats.cached_features(name, all_files, progress=progress)
             for name in backbones}
    rows = cross_validate({n: x[:n_train] for n, x in every.items()}, y_train, seed)
    best_name, best_c, _ = rows[0]
    clf = LogisticRegression(C=best_c, max_iter=2000).fit(every[best_name][:n_train], y_train)
    probs = clf.predict_proba(every[best_name][n_train:])      # the one look at the test photos
    pred = probs.argmax(1)
    test_acc = accuracy(y_test, pred)
    recall = recall_score(y_test, pred, labels=range(len(data.class_names)), average=None,
                          zero_division=0)
    wrong = np.flatnonzero(pred != y_test)
    worst = wrong[np.argsort(-probs[wrong, pred[wrong]])][:12]
    # the final model: the chosen recipe refitted on every labelled photo
    final = LogisticRegression(C=best_c, max_iter=2000).fit(every[best_name], y_all)
    model, _ = train.build_classifier(train.linear_head(final), best_name)
    path = train.save_classifier(model, out, data.class_names)
    report = {
        "folder": str(root), "model": str(path), "classes": data.class_names,
        "photos": {"train": len(train_files), "test": len(test_files)},
        "unusable": data.bad, "test_dir": str(test_dir) if test_dir else None,
        "cross_validation": [{"backbone": n, "C": c, "accuracy": a.value,
                              "ci95": [a.low, a.high], "n": a.n} for n, c, a in rows],
        "chosen": {"backbone": best_name, "C": best_c},
        "test": {"accuracy": test_acc.value, "ci95": [test_acc.low, test_acc.high],
                 "n": test_acc.n,
                 "recall": {n: float(r) for n, r in zip(data.class_names, recall)}},
        "worst_mistakes": [{"file": test_files[i], "true": data.class_names[y_test[i]],
                            "predicted": data.class_names[pred[i]],
                            "confidence": float(probs[i, pred[i]])} for i in worst],
        "refitted_on": len(all_files), "seconds": round(time.perf_counter() - start, 1),
    }
    report["figures"] = _figures(report, y_test, pred, test_files, worst,
                                 Path(report_dir) if report_dir else Path(path).parent,
                                 Path(path).stem)
    return report


def _figures(report, y_test, pred, test_files, worst, folder, stem) -> dict:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from helpers.lessons import plots
    from helpers.data.images import load_image

    folder.mkdir(parents=True, exist_ok=True)
    out = {"confusion": str(folder / f"{stem}.confusion.png")}
    fig = plots.plot_confusion(y_test, pred, report["classes"])
    fig.savefig(out["confusion"], dpi=100)
    plt.close(fig)
    if len(worst):
        out["mistakes"] = str(folder / f"{stem}.mistakes.png")
        fig = plots.show_images([load_image(test_files[i], 160) for i in worst],
                                [f"true {m['true']}\nsaid {m['predicted']} {m['confidence']:.2f}"
                                 for m in report["worst_mistakes"]], ncols=6)
        fig.savefig(out["mistakes"], dpi=80)
        plt.close(fig)
    return out


def format_report(report: dict) -> str:
    """The report a person reads."""
    t = report["test"]
    lines = [f"{report['folder']}: {len(report['classes'])} classes, "
             f"{report['photos']['train']} training and {report['photos']['test']} test photos"]
    if report["unusable"]:
        lines.append(f"  {len(report['unusable'])} unusable files left out (and left in place): "
                     + ", ".join(b["file"] for b in report["unusable"][:5]))
    lines.append(f"cross-validation on the training photos ({FOLDS} folds), best first:")
    for row in report["cross_validation"][:6]:
        lines.append(f"  {row['backbone']:20} C={row['C']:<4} accuracy "
                     f"{ci_text(row['accuracy'], *row['ci95'], row['n'])}")
    lines.append(f"chosen: {report['chosen']['backbone']}, C={report['chosen']['C']}")
    lines.append("test photos, measured once: accuracy "
                 f"{ci_text(t['accuracy'], *t['ci95'], t['n'])}")
    lines.append("  recall per class: " + ", ".join(f"{n} {r:.2f}" for n, r in t["recall"].items()))
    for m in report["worst_mistakes"][:5]:
        lines.append(f"  mistake: {m['file']} is {m['true']}, said {m['predicted']} "
                     f"({m['confidence']:.2f})")
    lines.append(f"saved {report['model']} (refitted on all {report['refitted_on']} photos); "
                 f"figures: {', '.join(report['figures'].values())}; {report['seconds']} s")
    return "\n".join(lines)
