"""Read a legacy PyTorch state dict without PyTorch, through a restricted unpickler.

Introduced in notebook 01 (the offline EfficientNet-Lite backbones, :mod:`helpers.models.lite`).

A legacy ``torch.save`` file is a sequence of pickles: a magic number, the
protocol version, a dict of system information, the state dict itself (whose
tensors refer to storages through persistent ids), and the list of storage
keys. After those come the raw bytes of each storage, in the order of that
list, each preceded by its element count as an 8-byte little-endian integer.

Only a handful of globals may be loaded (see ``ALLOWED``); anything else, such
as ``os.system`` in a crafted file, raises :class:`UnsafePickleError` before it
can be called.
"""

from __future__ import annotations

import collections
import io
import pickle
import struct

import numpy as np

MAGIC_NUMBER = 0x1950A86A20F9469CFC6C
PROTOCOL_VERSION = 1001

# storage type name -> numpy dtype (little-endian)
_STORAGE_DTYPES = {
    "FloatStorage": np.dtype("<f4"),
    "DoubleStorage": np.dtype("<f8"),
    "HalfStorage": np.dtype("<f2"),
    "LongStorage": np.dtype("<i8"),
    "IntStorage": np.dtype("<i4"),
    "ShortStorage": np.dtype("<i2"),
    "CharStorage": np.dtype("i1"),
    "ByteStorage": np.dtype("u1"),
    "BoolStorage": np.dtype("?"),
}


class UnsafePickleError(pickle.UnpicklingError):
    """A pickle asked for a global outside the allowlist."""


class _StorageType:
    """Stands in for ``torch.FloatStorage`` and friends: it only names a dtype."""

    def __init__(self, name: str):
        self.name = name
        self.dtype = _STORAGE_DTYPES[name]


class _TensorRef:
    """A tensor described by the pickle; filled with data once the storages are read."""

    def __init__(self, storage, offset, size, stride):
        self.storage = storage  # (key, _StorageType, numel)
        self.offset = int(offset)
        self.size = tuple(int(s) for s in size)
        self.stride = tuple(int(s) for s in stride)


def _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad=False,
                       backward_hooks=None, metadata=None):
    return _TensorRef(storage, storage_offset, size, stride)


ALLOWED = {
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor_v2,
    **{("torch", name): _StorageType(name) for name in _STORAGE_DTYPES},
}


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that resolves only the globals in ``ALLOWED``."""

    def find_class(self, module, name):
        try:
            return ALLOWED[(module, name)]
        except KeyError:
            raise UnsafePickleError(
                f"refusing to load global {module}.{name}: it is not in the allowlist "
                "of a PyTorch state dict (the file may be corrupt or malicious)"
            ) from None

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) >= 5 and pid[0] == "storage"):
            raise UnsafePickleError(f"unexpected persistent id {pid!r}")
        _, storage_type, key, _location, numel = pid[:5]
        if not isinstance(storage_type, _StorageType):
            raise UnsafePickleError(f"unexpected storage type {storage_type!r}")
        return (str(key), storage_type, int(numel))


def restricted_loads(data: bytes):
    """Unpickle ``data`` with the allowlist; for tests and single pickles."""
    return RestrictedUnpickler(io.BytesIO(data)).load()


def load_state_dict(path) -> "collections.OrderedDict[str, np.ndarray]":
    """Return the tensors of a legacy ``torch.save`` file as numpy arrays.

    Raises ``ValueError`` naming the file when it is not in the legacy format,
    and :class:`UnsafePickleError` when it asks for anything but tensors.
    """
    with open(path, "rb") as f:
        def load():
            return RestrictedUnpickler(f).load()

        try:
            magic = load()
        except (pickle.UnpicklingError, EOFError) as e:
            if isinstance(e, UnsafePickleError):
                raise
            raise ValueError(f"{path}: not a legacy PyTorch file ({e})") from e
        if magic != MAGIC_NUMBER:
            raise ValueError(
                f"{path}: not a legacy PyTorch file (bad magic number); "
                "files saved by torch>=1.6 in zip format are not supported")
        if load() != PROTOCOL_VERSION:
            raise ValueError(f"{path}: unsupported PyTorch protocol version")
        sys_info = load()
        if not sys_info.get("little_endian", True):
            raise ValueError(f"{path}: big-endian files are not supported")
        state = load()
        keys = load()
        if not isinstance(state, dict) or not isinstance(keys, list):
            raise ValueError(f"{path}: does not hold a state dict")

        # storage key -> dtype, from the tensors that use it
        dtypes = {}
        for ref in state.values():
            if not isinstance(ref, _TensorRef):
                raise ValueError(f"{path}: state dict holds a non-tensor value")
            key, stype, _ = ref.storage
            dtypes[key] = stype.dtype

        storages = {}
        for key in keys:
            header = f.read(8)
            if len(header) != 8:
                raise ValueError(f"{path}: truncated before storage {key}")
            (numel,) = struct.unpack("<q", header)
            dtype = dtypes.get(key, np.dtype("u1"))
            nbytes = numel * dtype.itemsize
            raw = f.read(nbytes)
            if len(raw) != nbytes:
                raise ValueError(f"{path}: truncated inside storage {key}")
            storages[key] = np.frombuffer(raw, dtype=dtype)

    out = collections.OrderedDict()
    for name, ref in state.items():
        key = ref.storage[0]
        if key not in storages:
            raise ValueError(f"{path}: tensor {name!r} refers to storage {key!r}, which the "
                             "file does not hold")
        flat = storages[key]
        _check_view(path, name, ref, flat.size)
        itemsize = flat.dtype.itemsize
        arr = np.lib.stride_tricks.as_strided(
            flat[ref.offset:],
            shape=ref.size,
            strides=tuple(s * itemsize for s in ref.stride),
            writeable=False,
        )
        out[name] = np.array(arr)  # a contiguous copy
    return out


def _check_view(path, name, ref, numel) -> None:
    """Refuse a tensor whose size, stride or offset would read outside its storage:
    ``as_strided`` trusts them blindly and would read arbitrary memory."""
    if len(ref.size) != len(ref.stride) or len(ref.size) > 8:
        raise ValueError(f"{path}: tensor {name!r} has {len(ref.size)} sizes but "
                         f"{len(ref.stride)} strides (corrupt or malicious file)")
    if ref.offset < 0 or any(n < 0 for n in ref.size) or any(s < 0 for s in ref.stride):
        raise ValueError(f"{path}: tensor {name!r} has a negative size, stride or offset "
                         "(corrupt or malicious file)")
    if 0 in ref.size:
        if ref.offset > numel:
            raise ValueError(f"{path}: tensor {name!r} starts past the end of its storage")
        return
    last = ref.offset + sum((n - 1) * s for n, s in zip(ref.size, ref.stride))
    if last >= numel:
        raise ValueError(f"{path}: tensor {name!r} (size {ref.size}, stride {ref.stride}, "
                         f"offset {ref.offset}) reads past the end of its storage of {numel} "
                         "elements (corrupt or malicious file)")
