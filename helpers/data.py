"""Datasets: sources with pinned checksums, safe extraction, offline folders,
file checks that never touch the data, seeded splits, tf.data pipelines and a
feature cache.

Introduced in notebook 01. Where data comes from, in order:

1. an explicit folder (``data_dir=...`` or ``--data-dir``);
2. ``$TL_DATA_DIR/<name>`` (pre-staged classroom data, e.g. ``../shared/data``);
3. the course cache (``~/.keras/tl-course/datasets/<name>``), filled by
   ``python -m helpers data fetch NAME`` (online).

Unusable files (corrupt, truncated, not an image, too large) are never
deleted, moved or rewritten: :func:`check_folder` reports them and every
pipeline leaves them out.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import tarfile
import time
import warnings
import zipfile
from pathlib import Path

import numpy as np

from helpers.backbones import cache_dir

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".gif", ".bmp"}


class DatasetUnavailableError(FileNotFoundError):
    """A dataset is neither pre-staged nor downloadable; the message says how to stage it."""


class UnsafeArchiveError(ValueError):
    """An archive member would land outside the target folder."""


# ------------------------------------------------------------------ registry

@dataclasses.dataclass(frozen=True)
class Remote:
    filename: str
    urls: tuple[str, ...]          # tried in order (mirrors)
    file_hash: str                 # sha256 (64 hex) or md5 (32 hex)


@dataclasses.dataclass(frozen=True)
class DatasetInfo:
    name: str
    description: str
    remotes: tuple[Remote, ...]
    image_folder: str              # where the images are, relative to the staged folder
    layout: str                    # "subfolders" (a class per folder) or "oxford" (names)
    homepage: str


DATASETS = {
    "cats_vs_dogs": DatasetInfo(
        name="cats_vs_dogs",
        description="Microsoft Cats and Dogs (the Kaggle 'Dogs vs. Cats' photos): "
                    "about 25,000 photos in PetImages/Cat and PetImages/Dog",
        remotes=(Remote(
            "kagglecatsanddogs_5340.zip",
            ("https://download.microsoft.com/download/3/E/1/"
             "3E1C3F21-ECDB-4869-8368-6DEBA77B919F/kagglecatsanddogs_5340.zip",),
            "b7974bd00a84a99921f36ee4403f089853777b5ae8d151c76a86e64900334af9"),),
        image_folder="PetImages",
        layout="subfolders",
        homepage="https://www.microsoft.com/download/details.aspx?id=54765",
    ),
    "oxford_pets": DatasetInfo(
        name="oxford_pets",
        description="Oxford-IIIT Pet: 7,349 photos of 37 breeds (12 cats, 25 dogs), "
                    "with the official trainval/test split",
        remotes=(
            Remote("images.tar.gz",
                   ("https://thor.robots.ox.ac.uk/datasets/pets/images.tar.gz",
                    "https://www.robots.ox.ac.uk/~vgg/data/pets/data/images.tar.gz"),
                   "5c4f3ee8e5d25df40f4fd59a7f44e54c"),
            Remote("annotations.tar.gz",
                   ("https://thor.robots.ox.ac.uk/datasets/pets/annotations.tar.gz",
                    "https://www.robots.ox.ac.uk/~vgg/data/pets/data/annotations.tar.gz"),
                   "95a8c909bbe2e81eed6a22bccdf3f68f"),
        ),
        image_folder="images",
        layout="oxford",
        homepage="https://www.robots.ox.ac.uk/~vgg/data/pets/",
    ),
    "pets-mini": DatasetInfo(
        name="pets-mini",
        description="365 Oxford-IIIT Pet photos (37 breeds), the course's offline sample",
        remotes=(),
        image_folder=".",
        layout="oxford",
        homepage="https://www.robots.ox.ac.uk/~vgg/data/pets/",
    ),
}


def dataset_info(name: str) -> DatasetInfo:
    try:
        return DATASETS[name]
    except KeyError:
        raise ValueError(f"unknown dataset {name!r}; known: {', '.join(DATASETS)}") from None


def _staging_help(info: DatasetInfo) -> str:
    if not info.remotes:
        return (f"'{info.name}' is shipped with the course materials, not downloaded: "
                f"point TL_DATA_DIR at the folder that contains {info.name}/ "
                f"(e.g. export TL_DATA_DIR=../shared/data).")
    files = ", ".join(r.filename for r in info.remotes)
    return (f"Pre-stage it on a machine with internet: `python -m helpers data fetch "
            f"{info.name} --dest DIR`, copy DIR/{info.name} to this machine and set "
            f"TL_DATA_DIR=DIR; or download {files} from {info.homepage} and extract "
            f"into $TL_DATA_DIR/{info.name}/.")


# -------------------------------------------------------------- downloading

def _check_member_name(name: str, archive) -> None:
    parts = Path(name).parts
    if name.startswith(("/", "\\")) or (parts and re.match(r"^[A-Za-z]:", parts[0])):
        raise UnsafeArchiveError(f"{archive}: member {name!r} has an absolute path; refusing "
                                 "to extract (the archive is damaged or malicious)")
    if ".." in parts:
        raise UnsafeArchiveError(f"{archive}: member {name!r} points outside the target "
                                 "folder ('..'); refusing to extract")


def safe_extract(archive, dest) -> Path:
    """Extract a .zip or .tar(.gz) into ``dest``, refusing members that would land
    outside it (absolute paths, ``..``, links, devices). Notebook 01.

    Every member is checked before anything is written.
    """
    archive, dest = Path(archive), Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zf:
            for info in zf.infolist():
                _check_member_name(info.filename, archive)
                mode = (info.external_attr >> 16) & 0o170000
                if mode == 0o120000:
                    raise UnsafeArchiveError(f"{archive}: member {info.filename!r} is a "
                                             "symbolic link; refusing to extract")
            zf.extractall(dest)
        return dest
    try:
        tf_archive = tarfile.open(archive)
    except tarfile.TarError as e:
        raise ValueError(f"{archive}: not a zip or tar archive ({e}); delete it and "
                         "download it again") from e
    with tf_archive as tar:
        for member in tar.getmembers():
            _check_member_name(member.name, archive)
            if member.issym() or member.islnk():
                raise UnsafeArchiveError(f"{archive}: member {member.name!r} is a link; "
                                         "refusing to extract")
            if not (member.isfile() or member.isdir()):
                raise UnsafeArchiveError(f"{archive}: member {member.name!r} is a device "
                                         "or special file; refusing to extract")
        tar.extractall(dest, filter="data")
    return dest


def _hash_file(path, algorithm) -> str:
    h = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def verify_file(path, file_hash) -> None:
    """Raise ``ValueError`` naming the file when its md5/sha256 does not match."""
    algorithm = "sha256" if len(file_hash) == 64 else "md5"
    digest = _hash_file(path, algorithm)
    if digest != file_hash:
        raise ValueError(f"{path}: checksum mismatch ({algorithm} {digest}, expected "
                         f"{file_hash}); the download is incomplete or altered. The file "
                         "was kept for inspection; delete it and fetch again.")


def download(remote: Remote, folder) -> Path:
    """Download ``remote`` into ``folder`` with ``keras.utils.get_file``, trying each
    mirror in turn, and verify its checksum. A cached, verified file is reused."""
    import keras

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / remote.filename
    if target.exists():
        verify_file(target, remote.file_hash)
        return target
    errors = []
    for url in remote.urls:
        try:
            path = keras.utils.get_file(remote.filename, url, file_hash=remote.file_hash,
                                        cache_dir=str(folder), cache_subdir=".")
            return Path(path)
        except Exception as e:  # keras raises Exception on network errors
            errors.append(f"{url}: {e.__class__.__name__}: {e}")
    raise DatasetUnavailableError(
        f"could not download {remote.filename}:\n  " + "\n  ".join(errors))


def fetch(name: str, dest=None) -> Path:
    """Download, verify and extract dataset ``name`` into ``dest/name``. Notebook 01."""
    info = dataset_info(name)
    if not info.remotes:
        raise DatasetUnavailableError(_staging_help(info))
    root = Path(dest) if dest else cache_dir() / "datasets"
    target = root / name
    downloads = target / "downloads"
    try:
        archives = [download(r, downloads) for r in info.remotes]
    except DatasetUnavailableError as e:
        raise DatasetUnavailableError(f"{e}\n{_staging_help(info)}") from None
    for archive in archives:
        marker = target / f".extracted-{archive.name}"
        if not marker.exists():
            safe_extract(archive, target)
            marker.write_text(time.strftime("%Y-%m-%d %H:%M:%S"))
    return target


def _online() -> bool:
    import socket

    try:
        socket.getaddrinfo("download.microsoft.com", 443)
        return True
    except OSError:
        return False


def find_dataset(name: str, data_dir=None, download_if_missing=False) -> Path:
    """The image folder of dataset ``name``: explicit folder, ``$TL_DATA_DIR/name``,
    the course cache, or (``download_if_missing``) a fresh download. Notebook 01.

    Raises :class:`DatasetUnavailableError` saying how to pre-stage the data.
    """
    info = dataset_info(name)
    candidates = []
    if data_dir:
        candidates += [Path(data_dir), Path(data_dir) / name]
    if os.environ.get("TL_DATA_DIR"):
        candidates.append(Path(os.environ["TL_DATA_DIR"]).expanduser() / name)
    candidates.append(cache_dir() / "datasets" / name)
    for folder in candidates:
        images = folder / info.image_folder
        if images.is_dir() and any(images.iterdir()):
            return images
    if data_dir and not Path(data_dir).exists():
        raise DatasetUnavailableError(f"{data_dir}: no such folder. {_staging_help(info)}")
    if download_if_missing and info.remotes:
        if not _online():
            raise DatasetUnavailableError(
                f"dataset '{name}' is not staged here and this machine is offline. "
                + _staging_help(info))
        return fetch(name) / info.image_folder
    looked = ", ".join(str(c) for c in candidates)
    raise DatasetUnavailableError(
        f"dataset '{name}' not found (looked in {looked}). {_staging_help(info)}")


def resolve_profile(profile: str, dataset: str) -> str:
    """Turn ``"auto"`` into ``"full"`` or ``"ci"``. Notebook 01.

    ``"full"`` when ``dataset`` is staged here or can be downloaded; otherwise
    ``"ci"`` (the small profile on pets-mini) when pets-mini is there, saying so;
    otherwise ``"full"``, which then reports the missing data with the fix.
    """
    if profile != "auto":
        if profile not in ("full", "ci"):
            raise ValueError(f"unknown profile {profile!r}: use 'auto', 'full' or 'ci'")
        return profile
    try:
        find_dataset(dataset)
        return "full"
    except DatasetUnavailableError:
        pass
    if dataset_info(dataset).remotes and _online():
        return "full"
    try:
        find_dataset("pets-mini")
    except DatasetUnavailableError:
        return "full"
    print(f"'{dataset}' is not staged here and cannot be downloaded: using the small "
          "'ci' profile on pets-mini (set TL_PROFILE=full to insist on the full data)")
    return "ci"


# ------------------------------------------------------------------- labels

_OXFORD_NAME = re.compile(r"^(?P<breed>.+)_(?P<number>\d+)$")


def oxford_label(filename, kind="species") -> str | None:
    """Label of an Oxford-IIIT file name: ``Abyssinian_12.jpg`` is a cat (capitalised
    breed), ``beagle_3.jpg`` a dog. ``kind`` is ``"species"`` or ``"breed"``.
    Returns None for names that do not follow the pattern. Notebook 01."""
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

@dataclasses.dataclass
class FileCheck:
    path: str
    ok: bool
    reason: str = ""
    format: str = ""
    mode: str = ""


def check_image_file(path, max_pixels=None) -> FileCheck:
    """Fully decode one file with Pillow and say whether the pipelines can use it."""
    from PIL import Image

    from helpers.images import ImageError, open_image

    path = Path(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(path) as img:
                fmt, mode = img.format or "", img.mode
        if fmt not in ("JPEG", "PNG", "GIF", "BMP"):
            return FileCheck(str(path), False, f"{fmt} images are not supported "
                                               "(use JPEG, PNG, GIF or BMP)", fmt, mode)
        open_image(path, max_pixels=max_pixels)
        tf_error = _tensorflow_decode_error(path)
        if tf_error:
            return FileCheck(str(path), False, f"TensorFlow cannot decode it ({tf_error})",
                             fmt, mode)
        return FileCheck(str(path), True, "", fmt, mode)
    except ImageError as e:
        return FileCheck(str(path), False, str(e).split(": ", 1)[-1])
    except Exception as e:  # Pillow's own errors on open
        return FileCheck(str(path), False, _reason(e))


def _tensorflow_decode_error(path) -> str:
    """The pipelines decode with TensorFlow: make sure it can, so no epoch dies midway."""
    import tensorflow as tf

    try:
        tf.io.decode_image(tf.io.read_file(str(path)), channels=3, expand_animations=False)
        return ""
    except (tf.errors.InvalidArgumentError, tf.errors.UnknownError) as e:
        return e.message.splitlines()[0][:200]


def _reason(e: Exception) -> str:
    name = e.__class__.__name__
    if name == "UnidentifiedImageError":
        return "not an image (wrong extension, or not an image at all)"
    if isinstance(e, FileNotFoundError):
        return "file vanished"
    return f"{name}: {e}"


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
        out: dict[str, int] = {}
        for label in self.labels:
            out[label] = out.get(label, 0) + 1
        return dict(sorted(out.items()))

    def paths(self) -> list[str]:
        return [str(Path(self.root) / f) for f in self.files]

    def to_json(self) -> dict:
        return {"root": self.root, "layout": self.layout, "usable": len(self.files),
                "classes": self.counts(), "bad": self.bad, "skipped": self.skipped,
                "report": str(_scan_cache_path(Path(self.root)))}


def _detect_layout(root: Path) -> str:
    subdirs = [d for d in root.iterdir() if d.is_dir() and not d.name.startswith(".")]
    if subdirs and any(f.suffix.lower() in IMAGE_SUFFIXES
                       for d in subdirs for f in d.iterdir() if f.is_file()):
        return "subfolders"
    return "oxford"


_SCAN_VERSION = 2  # bump when check_image_file's verdicts change


def _scan_cache_path(root: Path) -> Path:
    key = hashlib.sha256(str(root.resolve()).encode()).hexdigest()[:16]
    return cache_dir() / "reports" / f"{root.name}-{key}.json"


def check_folder(root, labels="species", layout=None, use_cache=True,
                 progress=False) -> FolderReport:
    """Scan an image folder offline: usable images with their labels, and every
    unusable file with the reason. Nothing in the folder is changed. Notebook 01.

    ``layout`` is ``"subfolders"`` (a class per folder, e.g. ``Cat/``, ``Dog/``)
    or ``"oxford"`` (labels from ``Breed_N.jpg`` names; ``labels`` picks
    ``"species"`` or ``"breed"``); by default it is detected. Results per file
    are cached by size and modification time, so a rescan is quick.
    """
    root = Path(root)
    if not root.exists():
        raise DatasetUnavailableError(f"{root}: no such folder (check the path or TL_DATA_DIR)")
    if not root.is_dir():
        raise NotADirectoryError(f"{root}: is a file, not a folder of images")
    layout = layout or _detect_layout(root)
    cache_path = _scan_cache_path(root)
    cache = {}
    if use_cache:
        try:
            saved = json.loads(cache_path.read_text())
            if saved.get("version") == _SCAN_VERSION:
                cache = saved["files"]
        except (OSError, ValueError, AttributeError, KeyError):
            cache = {}

    if layout == "subfolders":
        entries = sorted(p for d in root.iterdir() if d.is_dir() and not d.name.startswith(".")
                         for p in d.iterdir() if p.is_file())
    else:
        entries = sorted(p for p in root.iterdir() if p.is_file())
    iterator = entries
    if progress and len(entries) > 2000:
        from tqdm.auto import tqdm

        iterator = tqdm(entries, desc=f"checking {root.name}", unit="file")

    files, file_labels, bad, skipped, new_cache = [], [], [], [], {}
    for path in iterator:
        rel = str(path.relative_to(root))
        if path.suffix.lower() not in IMAGE_SUFFIXES:
            if path.name not in ("manifest.csv", "ATTRIBUTION.md") and not path.name.startswith("."):
                skipped.append({"file": rel, "reason": "not an image file name"})
            continue
        if layout == "subfolders":
            label = path.parent.name
        else:
            label = oxford_label(path.name, labels)
            if label is None:
                bad.append({"file": rel, "reason": "name does not follow Breed_N.jpg, "
                                                   "so it has no label"})
                continue
        stat = path.stat()
        stamp = f"{stat.st_size}:{stat.st_mtime_ns}"
        hit = cache.get(rel)
        if hit and hit["stamp"] == stamp:
            ok, reason = hit["ok"], hit["reason"]
        else:
            if stat.st_size == 0:
                ok, reason = False, "empty file (0 bytes)"
            else:
                result = check_image_file(path)
                ok, reason = result.ok, result.reason
        new_cache[rel] = {"stamp": stamp, "ok": ok, "reason": reason}
        if ok:
            files.append(rel)
            file_labels.append(label)
        else:
            bad.append({"file": rel, "reason": reason})

    try:
        cache_path.parent.mkdir(parents=True, exist_ok=True)
        cache_path.write_text(json.dumps({"version": _SCAN_VERSION, "files": new_cache}))
    except OSError:
        pass
    return FolderReport(str(root), layout, files, file_labels, bad, skipped)


def load_folder(root, labels="species", layout=None, min_classes=2) -> FolderReport:
    """:func:`check_folder`, then insist on something to train on: at least
    ``min_classes`` classes. Reports unusable files on stdout. Notebook 01."""
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


def make_split(report: FolderReport, val=0.15, test=0.2, seed=42, name=None,
               save=True) -> Split:
    """A seeded, stratified train/validation/test split of a checked folder, saved
    under the course cache so every notebook and rerun sees the same one. Notebook 01.

    Files are absolute paths. A saved split is reused while all of its files
    are still usable; otherwise it is rebuilt (and the rebuild is announced).
    """
    from sklearn.model_selection import train_test_split

    root = Path(report.root)
    paths = report.paths()
    label_of = dict(zip(paths, report.labels))
    key = hashlib.sha256(json.dumps([str(root.resolve()), val, test, seed,
                                     report.classes]).encode()).hexdigest()[:12]
    path = cache_dir() / "splits" / f"{name or root.name}-{key}.json"
    if save and path.exists():
        try:
            saved = json.loads(path.read_text())
            files = saved["train"] + saved["val"] + saved["test"]
            if set(files) <= set(paths):
                return Split(saved["train"], saved["val"], saved["test"],
                             report.classes, {f: label_of[f] for f in files})
            print(f"saved split {path} no longer matches {root}; making a new one")
        except (OSError, ValueError, KeyError):
            pass
    labels = [label_of[p] for p in paths]
    rest, test_files = train_test_split(paths, test_size=test, stratify=labels,
                                        random_state=seed)
    rest_labels = [label_of[p] for p in rest]
    train_files, val_files = train_test_split(rest, test_size=val / (1 - test),
                                              stratify=rest_labels, random_state=seed)
    split = Split(sorted(train_files), sorted(val_files), sorted(test_files),
                  report.classes, label_of)
    if save:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps({"train": split.train, "val": split.val,
                                        "test": split.test}, indent=0))
        except OSError:
            pass
    return split


def oxford_official_split(images_dir, labels="breed") -> Split | None:
    """The official Oxford-IIIT trainval/test split, when ``annotations/`` sits beside
    ``images/`` (validation: 15% of trainval, stratified, seeded). Lab."""
    from sklearn.model_selection import train_test_split

    images_dir = Path(images_dir)
    ann = images_dir.parent / "annotations"
    if not (ann / "trainval.txt").exists():
        return None
    report = check_folder(images_dir, labels=labels, layout="oxford")
    usable = set(report.paths())
    label_of = dict(zip(report.paths(), report.labels))

    def read(name):
        out = []
        for line in (ann / name).read_text().splitlines():
            if line.strip() and not line.startswith("#"):
                f = str(images_dir / (line.split()[0] + ".jpg"))
                if f in usable:
                    out.append(f)
        return out

    trainval, test_files = read("trainval.txt"), read("test.txt")
    train_files, val_files = train_test_split(
        trainval, test_size=0.15, stratify=[label_of[f] for f in trainval], random_state=42)
    return Split(sorted(train_files), sorted(val_files), sorted(test_files),
                 report.classes, label_of)


# --------------------------------------------------------------- pipelines

def decode_image(path, image_size=224):
    """Read one file and decode it by content (JPEG, PNG, GIF, BMP, whatever its
    extension), as float32 RGB in 0..255 resized to ``image_size``. Notebook 01."""
    import tensorflow as tf

    data = tf.io.read_file(path)
    image = tf.io.decode_image(data, channels=3, expand_animations=False, dtype=tf.uint8)
    # Bilinear without antialiasing, as keras.utils.image_dataset_from_directory does:
    # antialiasing made the whole pipeline about 30% slower than the model alone.
    image = tf.image.resize(image, (image_size, image_size), method="bilinear")
    image.set_shape((image_size, image_size, 3))
    return image


def image_dataset(files, labels=None, image_size=224, batch_size=32, shuffle=False,
                  seed=0):
    """A streaming ``tf.data`` pipeline over image files: decode, resize, batch,
    prefetch; images are never all held in memory. Augmentation belongs in the
    model (``train.augmentation``), where it is active only in training. Notebook 01.
    """
    import tensorflow as tf

    files = [str(f) for f in files]
    if labels is None:
        ds = tf.data.Dataset.from_tensor_slices(files)
    else:
        ds = tf.data.Dataset.from_tensor_slices((files, np.asarray(labels)))
    if shuffle:
        ds = ds.shuffle(len(files), seed=seed, reshuffle_each_iteration=True)
    if labels is None:
        ds = ds.map(lambda f: decode_image(f, image_size), num_parallel_calls=tf.data.AUTOTUNE)
    else:
        ds = ds.map(lambda f, y: (decode_image(f, image_size), y),
                    num_parallel_calls=tf.data.AUTOTUNE)
    ds = ds.batch(batch_size)
    return ds.prefetch(tf.data.AUTOTUNE)


def load_images(files, image_size=224) -> np.ndarray:
    """A small list of files as one float32 array (for plots and demos). Notebook 01."""
    batches = [b.numpy() for b in image_dataset(files, image_size=image_size, batch_size=64)]
    return np.concatenate(batches) if batches else np.zeros((0, image_size, image_size, 3))


# ------------------------------------------------------------ feature cache

def _features_key(backbone_name, image_size, files) -> str:
    h = hashlib.sha256()
    h.update(f"{backbone_name}|{image_size}|v2".encode())  # v2: resize without antialias
    for f in files:
        st = os.stat(f)
        h.update(f"{f}|{st.st_size}|{st.st_mtime_ns}\n".encode())
    return h.hexdigest()


def extract_features(model, files, image_size=224, batch_size=32, progress=True) -> np.ndarray:
    """Run ``model`` over image files through the tf.data pipeline, in a
    ``tf.function``, and return the stacked outputs. Notebook 01."""
    from helpers.backbones import feature_extractor

    run = feature_extractor(model)
    ds = image_dataset(files, image_size=image_size, batch_size=batch_size)
    out = []
    iterator = ds
    if progress:
        from tqdm.auto import tqdm

        iterator = tqdm(ds, total=-(-len(files) // batch_size), desc="features",
                        unit="batch", leave=False)
    for batch in iterator:
        out.append(run(batch).numpy())
    if not out:
        return np.zeros((0,) + tuple(model.output.shape[1:]), dtype="float32")
    return np.concatenate(out)


def cached_features(backbone_name, files, image_size=224, batch_size=32, model=None,
                    progress=True, bfloat16=False) -> np.ndarray:
    """Pooled backbone features of ``files``, computed once and stored under the
    course cache. ``bfloat16`` computes them in mixed bfloat16 (see
    ``backbones.BF16_HELPS``). The key covers the backbone, the image size and each file's
    path, size and modification time: change any and the cache is rebuilt.
    Notebook 01.
    """
    files = [str(f) for f in files]
    tag = backbone_name + ("-bf16" if bfloat16 else "")
    key = _features_key(tag, image_size, files)
    folder = cache_dir() / "features"
    path = folder / f"{tag}-{image_size}-{key[:20]}.npz"
    if path.exists():
        try:
            with np.load(path) as saved:
                if str(saved["key"]) == key and saved["features"].shape[0] == len(files):
                    return saved["features"]
        except Exception:
            pass  # damaged: rebuilt below
    if model is None:
        from helpers.backbones import get_backbone

        model = get_backbone(backbone_name, include_top=False,
                             input_shape=(image_size, image_size, 3), bfloat16=bfloat16)
    features = extract_features(model, files, image_size, batch_size, progress)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp.npz")
        np.savez(tmp, features=features, key=np.array(key))
        os.replace(tmp, path)
    except OSError:
        pass
    return features


def sample_photo(kind: str) -> Path | None:
    """``$TL_DATA_DIR/samples/{cat,dog}.jpg`` when present (notebooks 01, 04)."""
    root = os.environ.get("TL_DATA_DIR")
    if not root:
        return None
    path = Path(root).expanduser() / "samples" / f"{kind}.jpg"
    return path if path.exists() else None
