"""The grader's hidden test photos: checked, digested, decoded once per input size,
and shown to each submission in an order and batching it cannot predict.

Introduced with the lab's grader (``lab/README.md``, "A fair evaluation"); used by
:mod:`helpers.grader.gradebook` and :mod:`helpers.grader.grade`.

* **Memory**: the photos are decoded one at a time into a memory-mapped ``.npy``
  file, so the grader itself holds one decoded photo at a time, whatever the
  number of photos or the input size a submission declares (already checked by
  :mod:`helpers.grader.inspection`: 16-384 px). A decoded copy is deleted once the last
  submission of its size is graded.
* **Order**: a file-name order groups the photos by breed; a model that counts
  its calls (state kept between batches) could score without looking at a
  pixel. Every submission sees the photos in a permutation and in batches of
  sizes drawn from the gradebook's seed, which the instructor keeps and the
  gradebook records (``order_seed``), so a grade can be reproduced.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import threading
from pathlib import Path

import numpy as np

from helpers import settings

MIN_BATCH, MAX_BATCH = 8, 16     # batch sizes drawn in this range: never above
                                 # the 16 a submission met before (its memory)


@dataclasses.dataclass
class TestSet:
    """The hidden test photos: files, labels, and a digest of them all."""
    root: str
    files: list[str]
    labels: list[str]
    digest: str
    skipped: list[dict]


def load_test_set(test_dir) -> TestSet:
    """Check ``test_dir`` (Oxford-named photos, or a subfolder per class) and digest
    every usable file's name and bytes. Unusable files are reported, not graded.
    ``test_dir`` may also be a list of Oxford-named photo paths (the lab grades its
    own test split so, with no folder to make)."""
    from helpers.data.folders import check_folder

    if isinstance(test_dir, (list, tuple)):
        return _files_test_set([Path(f) for f in test_dir])
    report = check_folder(test_dir, labels="breed")
    if not report.files:
        raise ValueError(f"{test_dir}: no usable test photos")
    h = hashlib.sha256()
    for rel in report.files:
        h.update(f"{rel}\0{settings.file_hash(Path(report.root) / rel)}\n".encode())
    return TestSet(report.root, report.paths(), report.labels, h.hexdigest(), report.bad)


def _files_test_set(files) -> TestSet:
    """A :class:`TestSet` of listed photos, labelled by their Oxford names."""
    from helpers.data.folders import check_image_file, oxford_label

    if not files:
        raise ValueError("no test photos listed")
    usable, labels, bad = [], [], []
    for f in files:
        breed = oxford_label(f.name, "breed")
        ok, reason = check_image_file(f) if f.is_file() else (False, "no such file")
        if breed is None:
            ok, reason = False, "not an Oxford-IIIT name (Breed_N.jpg): no label"
        if ok:
            usable.append(f)
            labels.append(breed)
        else:
            bad.append({"file": str(f), "reason": reason})
    if not usable:
        raise ValueError(f"none of the {len(files)} listed test photos is usable: {bad[:3]}")
    h = hashlib.sha256()
    for f in usable:
        h.update(f"{f.name}\0{settings.file_hash(f)}\n".encode())
    root = os.path.commonpath([str(f.parent) for f in usable])
    return TestSet(root, [str(f) for f in usable], labels, h.hexdigest(), bad)


def decoded_photos(test: TestSet, size: int, workdir: Path) -> Path:
    """The test photos at ``size`` as one ``.npy`` file (float32, 0..255), decoded
    once for all submissions of that input size, one photo at a time into a
    memory-mapped file (through the course's one image path)."""
    from helpers.data.images import load_image

    path = Path(workdir) / f"photos-{int(size)}.npy"
    if not path.exists():
        def write(tmp):
            stack = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float32,
                                              shape=(len(test.files), size, size, 3))
            for i, f in enumerate(test.files):
                stack[i] = load_image(f, size)
            stack.flush()
            del stack
        settings.atomic_write(path, write)
    return path


class DecodedPhotos:
    """Decoded copies shared by the submissions of a class, each deleted when the
    last submission that needs it is done (:meth:`release`)."""

    def __init__(self, test: TestSet, workdir: Path, sizes):
        self.test, self.workdir = test, Path(workdir)
        self.users = {}
        for size in sizes:
            self.users[size] = self.users.get(size, 0) + 1
        self.locks = {size: threading.Lock() for size in self.users}

    def get(self, size: int) -> Path:
        with self.locks.setdefault(size, threading.Lock()):
            return decoded_photos(self.test, size, self.workdir)

    def release(self, size: int) -> None:
        with self.locks.setdefault(size, threading.Lock()):
            self.users[size] = self.users.get(size, 1) - 1
            if self.users[size] <= 0:
                (self.workdir / f"photos-{int(size)}.npy").unlink(missing_ok=True)


def new_seed() -> int:
    """A fresh order seed for a gradebook (the instructor may pass their own)."""
    return int(np.random.SeedSequence().entropy % (2 ** 63))


def order_and_batches(n: int, seed: int, student: str) -> tuple[np.ndarray, list[int]]:
    """The order in which one student's model sees the ``n`` photos (a permutation)
    and the sizes of its batches, drawn from the gradebook's ``seed`` and the
    student's name: reproducible by the instructor, unknown to the student."""
    salt = int.from_bytes(hashlib.sha256(student.encode("utf-8", "replace")).digest()[:8], "big")
    rng = np.random.default_rng([int(seed), salt])
    order = rng.permutation(n)
    batches, left = [], n
    while left > 0:
        batches.append(int(min(left, rng.integers(MIN_BATCH, MAX_BATCH + 1))))
        left -= batches[-1]
    return order, batches


def unshuffle(outputs: np.ndarray, order: np.ndarray) -> np.ndarray:
    """Outputs in the photos' own order, from outputs in ``order``."""
    restored = np.empty_like(outputs)
    restored[order] = outputs
    return restored
