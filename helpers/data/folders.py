"""Folders of images: file checks that never touch the data, labels, the scan
report, and seeded splits.

Introduced in notebook 01. Unusable files (corrupt, truncated, not an image,
too large) are never deleted, moved or rewritten: :func:`check_folder`
reports them and every pipeline leaves them out. Folder layouts:

* ``subfolders``: a class per folder (``Cat/``, ``Dog/``; ``cats/``, ``dogs/``);
* ``oxford``: labels from Oxford-IIIT names (``Abyssinian_12.jpg``, ``beagle_3.jpg``);
* ``splits``: ``train/`` and ``validation/`` (or ``test/``), each with a class per
  folder (``cats_and_dogs_filtered``): see :func:`presplit`.
"""

from __future__ import annotations

import collections
import dataclasses
import json
import re
import warnings
from pathlib import Path

import numpy as np

from helpers import cache
from helpers.data.images import IMAGE_SUFFIXES
from helpers.data.sources import DatasetUnavailableError
_NOT_DATA = ("manifest.csv", "ATTRIBUTION.md", "vectorize.py")

_OXFORD_NAME = re.compile(r"^(?P<breed>.+)_(?P<number>\d+)$")


def oxford_label(filename, kind="species") -> str | None:
    """Label of an Oxford-IIIT file name: ``Abyssinian_12.jpg`` is a cat (capitalised
    breed), ``beagle_3.jpg`` a dog. ``kind`` is ``"species"`` or ``"breed"``.
    Returns None for names that do not follow the pattern. The lab."""
    match = _OXFORD_NAME.match(Path(filename).stem)
    if not match:
        return None
    breed = match.group("breed")
    if kind == "breed":
        return breed
    if kind == "species":
        return "cat" if breed[0].isupper() else "dog"
    raise ValueError(f"kind must be 'species' or 'breed', not {kind!r}")


# ---------------------------------------------------------------- checking

SUPPORTED_FORMATS = ("JPEG", "MPO", "PNG", "GIF", "BMP", "WEBP", "TIFF")


def check_image_file(path, max_pixels=None) -> tuple[bool, str]:
    """Fully decode one file the way every pipeline will (:func:`helpers.data.images.open_image`);
    returns ``(usable, reason)``. Used by :func:`check_folder`."""
    from PIL import Image

    from helpers.data.images import ImageError, open_image

    path = Path(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(path) as img:
                fmt = img.format or ""
        if fmt not in SUPPORTED_FORMATS:
            return False, (f"{fmt} images are not supported (convert it to JPEG or PNG; "
                           f"the course reads {', '.join(SUPPORTED_FORMATS)})")
        open_image(path, max_pixels=max_pixels)
        return True, ""
    except ImageError as e:
        return False, str(e).split(": ", 1)[-1]
    except Exception as e:  # Pillow's own errors on open
        return False, _reason(e)


def _reason(e: Exception) -> str:
    if e.__class__.__name__ == "UnidentifiedImageError":
        return "not an image (wrong extension, or not an image at all)"
    if isinstance(e, FileNotFoundError):
        return "file vanished"
    return f"{e.__class__.__name__}: {e}"


@dataclasses.dataclass
class FolderReport:
    """What :func:`check_folder` found: usable files with labels, and unusable ones."""
    root: str
    layout: str
    files: list[str]               # usable, relative to root, sorted
    labels: list[str]              # one per usable file
    bad: list[dict]                # {"file", "reason"}
    skipped: list[dict]            # files that are not images by name

    @property
    def classes(self) -> list[str]:
        return sorted(set(self.labels))

    def counts(self) -> dict[str, int]:
        return dict(sorted(collections.Counter(self.labels).items()))

    def paths(self) -> list[str]:
        return [str(Path(self.root) / f) for f in self.files]

    def to_json(self) -> dict:
        return {"root": self.root, "layout": self.layout, "usable": len(self.files),
                "classes": self.counts(), "bad": self.bad, "skipped": self.skipped,
                "report": str(_scan_cache_path(Path(self.root)))}


def detect_layout(root: Path) -> str:
    """``splits``, ``subfolders`` or ``oxford``, from what ``root`` holds."""
    subdirs = [d for d in root.iterdir() if d.is_dir() and not d.name.startswith(".")]
    if (root / "train").is_dir() and any((root / n).is_dir() for n in ("validation", "test")):
        return "splits"
    if subdirs and any(f.suffix.lower() in IMAGE_SUFFIXES
                       for d in subdirs for f in d.iterdir() if f.is_file()):
        return "subfolders"
    return "oxford"


SCAN_VERSION = 4  # bump when check_image_file's verdicts change


def _scan_cache_path(root: Path) -> Path:
    return cache.entry("reports", root.name, str(root.resolve()), SCAN_VERSION,
                       suffix=".json")


def _read_json(path: Path, fits) -> dict:
    """A cached JSON object that ``fits``; anything else is damaged (checked again)."""
    saved = json.loads(path.read_text(encoding="utf-8"))
    if not (isinstance(saved, dict) and fits(saved)):
        raise ValueError(f"{path.name} is not what the course wrote there")
    return saved


def _verdicts(saved) -> bool:
    return all(isinstance(v, dict) and {"stamp", "ok", "reason"} <= v.keys()
               for v in saved.values())


def _split_parts(saved) -> bool:
    return all(isinstance(saved.get(p), list) for p in ("train", "val", "test"))


def _entries(root: Path, layout: str) -> list[Path]:
    if layout == "subfolders":
        return sorted(p for d in root.iterdir() if d.is_dir() and not d.name.startswith(".")
                      for p in d.iterdir() if p.is_file())
    return sorted(p for p in root.iterdir() if p.is_file())


def check_folder(root, labels="species", layout=None, use_cache=True,
                 progress=False) -> FolderReport:
    """Scan an image folder offline: usable images with their labels, and every
    unusable file with the reason. Nothing in the folder is changed. Used by
    ``python -m helpers data check``, the grader and :func:`load_folder`.

    ``layout`` is ``"subfolders"`` or ``"oxford"`` (``labels`` then picks
    ``"species"`` or ``"breed"``); by default it is detected. Verdicts are cached
    per file by size and modification time, so a rescan is quick.
    """
    root = Path(root)
    if not root.exists():
        raise DatasetUnavailableError(f"{root}: no such folder (check the path or TL_DATA_DIR)")
    if not root.is_dir():
        raise NotADirectoryError(f"{root}: is a file, not a folder of images")
    layout = layout or detect_layout(root)
    if layout == "splits":
        raise ValueError(f"{root} holds train/ and validation/ folders: check each one, "
                         "or use helpers.data.folders.presplit")
    cache_path = _scan_cache_path(root)
    verdicts = ((cache.load(cache_path, lambda p: _read_json(p, _verdicts)) or {})
                if use_cache else {})
    entries = _entries(root, layout)
    iterator = entries
    if progress and len(entries) > 2000:
        from tqdm.auto import tqdm

        iterator = tqdm(entries, desc=f"checking {root.name}", unit="file")

    files, file_labels, bad, skipped, new_cache = [], [], [], [], {}
    for path in iterator:
        rel = str(path.relative_to(root))
        if path.suffix.lower() not in IMAGE_SUFFIXES:
            if path.name not in _NOT_DATA and not path.name.startswith("."):
                skipped.append({"file": rel, "reason": "not an image file name"})
            continue
        label = path.parent.name if layout == "subfolders" else oxford_label(path.name, labels)
        if label is None:
            bad.append({"file": rel, "reason": "name does not follow Breed_N.jpg, "
                                               "so it has no label"})
            continue
        stat = path.stat()
        stamp = f"{stat.st_size}:{stat.st_mtime_ns}"
        hit = verdicts.get(rel)
        if hit and hit["stamp"] == stamp:
            ok, reason = hit["ok"], hit["reason"]
        elif stat.st_size == 0:
            ok, reason = False, "empty file (0 bytes)"
        else:
            ok, reason = check_image_file(path)
        new_cache[rel] = {"stamp": stamp, "ok": ok, "reason": reason}
        if ok:
            files.append(rel)
            file_labels.append(label)
        else:
            bad.append({"file": rel, "reason": reason})
    if new_cache != verdicts:
        cache.save(cache_path, new_cache)
    return FolderReport(str(root), layout, files, file_labels, bad, skipped)


def load_folder(root, labels="species", layout=None, min_classes=2) -> FolderReport:
    """:func:`check_folder`, then insist on something to train on: at least
    ``min_classes`` classes. Reports unusable files on stdout. Notebook 04, the lab."""
    report = check_folder(root, labels=labels, layout=layout, progress=True)
    if report.bad:
        print(f"{len(report.bad)} unusable files in {root} are left out "
              f"(left in place; run `python -m helpers data check {root}` for the list)")
    if not report.files:
        raise ValueError(f"{root}: no usable images found (expected Breed_N.jpg files or "
                         "a subfolder per class)")
    if len(report.classes) < min_classes:
        raise ValueError(f"{root}: only one class ({report.classes[0]}) found; a classifier "
                         f"needs at least {min_classes} (a subfolder per class, or Oxford names)")
    return report


# ------------------------------------------------------------------ splits

@dataclasses.dataclass
class Split:
    train: list[str]
    val: list[str]
    test: list[str]
    classes: list[str]
    labels: dict[str, str]         # file -> label

    def part(self, name) -> tuple[list[str], np.ndarray]:
        """(files, integer labels) of ``"train"``, ``"val"`` or ``"test"``."""
        files = getattr(self, name)
        index = {c: i for i, c in enumerate(self.classes)}
        return files, np.array([index[self.labels[f]] for f in files], dtype="int32")

    def sizes(self) -> str:
        return f"train {len(self.train)}, validation {len(self.val)}, test {len(self.test)}"


def _stratified(files, label_of, size, seed):
    from sklearn.model_selection import train_test_split

    return train_test_split(files, test_size=size, stratify=[label_of[f] for f in files],
                            random_state=seed)


def make_split(report: FolderReport, val=0.15, test=0.2, seed=42, name=None,
               save=True) -> Split:
    """A seeded, stratified train/validation/test split of a checked folder (absolute
    paths), saved under the course cache so that every notebook and rerun sees the
    same one, even after a library upgrade. A saved split is reused while all of
    its files are still usable; otherwise it is rebuilt, and the rebuild is
    announced. The lab.
    """
    root = Path(report.root)
    paths = report.paths()
    label_of = dict(zip(paths, report.labels))
    path = cache.entry("splits", name or root.name, str(root.resolve()), val, test, seed,
                       report.classes, suffix=".json")
    saved = cache.load(path, lambda p: _read_json(p, _split_parts)) if save else None
    if saved is not None:
        # files relative to the folder: the same split whichever link led to it
        parts = {p: [str(root / f) for f in saved[p]] for p in ("train", "val", "test")}
        files = parts["train"] + parts["val"] + parts["test"]
        if set(files) <= set(paths):
            return Split(parts["train"], parts["val"], parts["test"],
                         report.classes, {f: label_of[f] for f in files})
        print(f"saved split {path} no longer matches {root}; making a new one")
    rest, test_files = _stratified(paths, label_of, test, seed)
    train_files, val_files = _stratified(rest, label_of, val / (1 - test), seed)
    split = Split(sorted(train_files), sorted(val_files), sorted(test_files),
                  report.classes, label_of)
    if save:
        cache.save(path, {p: [str(Path(f).relative_to(root)) for f in files]
                          for p, files in (("train", split.train), ("val", split.val),
                                           ("test", split.test))})
    return split


def presplit(root, val=0.15, seed=42, test_folder=None) -> Split:
    """The split a dataset ships with: ``train/`` for training (a seeded, stratified
    ``val`` share of it held out for validation) and ``validation/`` (or ``test/``)
    as the test set, never used for choices. Notebooks 01-02 (through
    ``lessons.cats_and_dogs``).
    """
    root = Path(root)
    test_folder = test_folder or ("validation" if (root / "validation").is_dir() else "test")
    train_report = load_folder(root / "train", layout="subfolders")
    test_report = load_folder(root / test_folder, layout="subfolders")
    if test_report.classes != train_report.classes:
        raise ValueError(f"{root}: train/ has classes {train_report.classes} but "
                         f"{test_folder}/ has {test_report.classes}")
    label_of = dict(zip(train_report.paths(), train_report.labels))
    label_of.update(zip(test_report.paths(), test_report.labels))
    train_files, val_files = _stratified(train_report.paths(), label_of, val, seed)
    return Split(sorted(train_files), sorted(val_files), sorted(test_report.paths()),
                 train_report.classes, label_of)


def oxford_official_split(images_dir, labels="breed", val=0.15, seed=42) -> Split | None:
    """The official Oxford-IIIT trainval/test split, when ``annotations/`` sits beside
    ``images/`` (validation: ``val`` of trainval, stratified, seeded). The lab."""
    images_dir = Path(images_dir)
    ann = images_dir.parent / "annotations"
    if not (ann / "trainval.txt").exists():
        return None
    report = check_folder(images_dir, labels=labels, layout="oxford")
    usable = set(report.paths())
    label_of = dict(zip(report.paths(), report.labels))

    def read(name):
        names = (line.split()[0] for line in (ann / name).read_text().splitlines()
                 if line.strip() and not line.startswith("#"))
        return [f for f in (str(images_dir / (n + ".jpg")) for n in names) if f in usable]

    train_files, val_files = _stratified(read("trainval.txt"), label_of, val, seed)
    return Split(sorted(train_files), sorted(val_files), sorted(read("test.txt")),
                 report.classes, label_of)
