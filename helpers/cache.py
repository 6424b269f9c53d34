"""The course cache on disk: one way to name an entry, read it back and write it.

Every cache of the course goes through here: the backbone features (notebook 01),
notebook 05's arrays and activations, the folder scans and saved splits (the lab),
and the converted Lite weights (notebook 01). They live under
``settings.cache_dir()`` (``$TL_CACHE_DIR``, else ``$KERAS_HOME/tl-course``), one
folder per kind.

An entry's file name carries a fingerprint of what it was computed from: the
values passed (a version of the recipe among them), each file's path, size and
modification time, or the pixels themselves. A changed input or recipe is a new
entry, never a stale hit. A damaged entry is reported and computed again; one that
cannot be written is reported, and the value is still returned.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from helpers import settings
from helpers.console import note


def fingerprint(*parts, files=(), data=None) -> str:
    """sha256 (hex) of ``parts`` (as text), of each file's path, size and
    modification time, and of the bytes of the array ``data``."""
    h = hashlib.sha256("|".join(map(str, parts)).encode())
    for f in files:
        st = os.stat(f)
        h.update(f"{f}|{st.st_size}|{st.st_mtime_ns}\n".encode())
    if data is not None:
        import numpy as np

        h.update(np.ascontiguousarray(data).data)
    return h.hexdigest()


def entry(kind: str, name: str, *parts, files=(), data=None, suffix=".npz") -> Path:
    """Where the cache keeps ``kind/<name>-<fingerprint><suffix>``; the fingerprint
    covers ``kind``, ``name``, ``parts``, ``files`` and ``data`` (:func:`fingerprint`)."""
    key = fingerprint(kind, name, *parts, files=files, data=data)[:20]
    return settings.cache_dir() / kind / f"{name}-{key}{suffix}"


def _suffix(path: Path) -> str:
    return ".weights.h5" if path.name.endswith(".weights.h5") else path.suffix


def _read_npz(path):
    import numpy as np

    with np.load(path) as saved:                 # no pickles: allow_pickle stays False
        return {k: saved[k] for k in saved.files}


def _write_npz(path, arrays):
    import numpy as np

    np.savez(path, **arrays)


def _read_npy(path):
    import numpy as np

    return np.load(path)


def _write_npy(path, array):
    import numpy as np

    np.save(path, array)


_FORMATS = {".npz": (_read_npz, _write_npz), ".npy": (_read_npy, _write_npy),
            ".json": (lambda p: json.loads(p.read_text(encoding="utf-8")),
                      lambda p, v: p.write_text(json.dumps(v), encoding="utf-8"))}


def load(path, read=None):
    """The value stored at ``path``, or None when there is none or it is damaged
    (said in a note: it is then computed again). ``.npz`` reads as a dict of arrays,
    ``.npy`` as an array, ``.json`` as its object; ``read(path)`` reads any other."""
    path = Path(path)
    if not path.exists():
        return None
    try:
        return (read or _FORMATS[_suffix(path)][0])(path)
    except Exception as e:  # numpy, json, h5py and Keras raise many kinds on a bad file
        note(f"the cached {path.name} is damaged ({e.__class__.__name__}); "
             "computing it again")
        return None


def save(path, value, write=None) -> bool:
    """Store ``value`` at ``path`` atomically (``write(tmp_path, value)`` for a format
    :func:`load` does not know). A failure is reported, not raised: the cache only
    saves time."""
    path = Path(path)
    write = write or _FORMATS[_suffix(path)][1]
    try:
        settings.atomic_write(path, lambda tmp: write(tmp, value))
        return True
    except OSError as e:
        note(f"could not cache {path.name} in {path.parent} ({e})")
        return False


def cached(path, compute, read=None, write=None):
    """The value at ``path`` (:func:`load`), else ``compute()``, saved there."""
    value = load(path, read)
    if value is None:
        value = compute()
        save(path, value, write)
    return value
