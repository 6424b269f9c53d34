"""Checking a handed-in ``.keras`` file before anything in it is built or run.

Used by the grader (``python -m helpers grade``, :mod:`helpers.grader.gradebook`). A
``.keras`` file is a zip archive holding ``config.json`` (the architecture),
``model.weights.h5`` and, from the course, ``class_names.json``. This module
reads those members with size limits and refuses, with a reason a student can
act on:

* a symbolic link, a file that is not a zip archive, an archive or member over
  its size limit (a zip bomb), a ``class_names.json`` that is not a list of
  names;
* a config with a ``Lambda`` layer or a serialised function (Python code),
  a class from a module outside Keras, or a custom object (``package>Name``),
  none of which plain Keras can load safely;
* a stateful layer (``"stateful": true``): its state would carry from one
  batch of test photos to the next, so it could count photos instead of
  looking at them.

It reads the archive as a parser facing hostile input: the number of members,
each member's size, compression method and flags, the config's nesting depth
and every field's type are checked before use, and any error it did not foresee
becomes a refusal that names the file, never a crash of the grader.

Only then does the grader call ``keras.models.load_model(..., safe_mode=True)``,
in a separate process (:mod:`helpers.grader.sandbox`).
"""

from __future__ import annotations

import dataclasses
import json
import zipfile
from pathlib import Path

MAX_ARCHIVE_BYTES = 300_000_000        # a Lite2 classifier is about 20 MB
MAX_MEMBER_BYTES = 400_000_000         # uncompressed, any one member
MAX_CONFIG_BYTES = 5_000_000           # config.json, uncompressed
MAX_NAMES_BYTES = 1_000_000            # class_names.json, uncompressed
MAX_TOTAL_BYTES = 400_000_000          # uncompressed, all members together
MAX_MEMBERS = 32                       # a .keras file has four; Keras extracts them all
MAX_DEPTH = 64                         # nesting of config.json; a Keras model needs about 12
MIN_INPUT_SIZE, MAX_INPUT_SIZE = 16, 384   # pixels; the course's backbones take 224-260
_CODE_CLASSES = {"Lambda", "__lambda__", "__function__", "TFOpLambda"}


class RefusedSubmission(ValueError):
    """A submission refused before loading; the message says why and what to do."""


@dataclasses.dataclass
class Inspection:
    """What a refused-or-not check learned from the archive, without building it."""
    class_names: list[str]
    input_size: int | None      # the square input size, from the config
    layers: int


def _read_member(zf: zipfile.ZipFile, name: str, limit: int) -> bytes:
    info = zf.getinfo(name)
    _check_member(info)
    if info.file_size > limit:
        raise RefusedSubmission(f"{name} inside the file is {info.file_size:,} bytes, over the "
                                f"limit of {limit:,}; save the model again with "
                                "helpers.lessons.train.save_classifier")
    with zf.open(info) as f:
        data = f.read(limit + 1)          # never more than the limit, whatever the header says
    if len(data) > limit:
        raise RefusedSubmission(f"{name} inside the file unpacks to more than {limit:,} bytes "
                                "(a zip bomb?)")
    return data


def _check_member(info: zipfile.ZipInfo) -> None:
    if info.flag_bits & 0x1:
        raise RefusedSubmission(f"{info.filename} inside the file is encrypted; save the "
                                "model again with helpers.lessons.train.save_classifier")
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise RefusedSubmission(f"{info.filename} inside the file uses compression method "
                                f"{info.compress_type}, which Keras does not write; save the "
                                "model again with helpers.lessons.train.save_classifier")


def _walk(config, found: list[str]) -> None:
    """Collect, from a Keras config, every reason not to build it. Iterative, with
    a bound on the depth: a hostile config cannot exhaust the stack."""
    stack = [(config, 0, "?")]
    while stack:
        node, depth, owner = stack.pop()
        if depth > MAX_DEPTH:
            found.append(f"a config nested more than {MAX_DEPTH} levels deep")
            return
        if isinstance(node, dict):
            cls = node.get("class_name")
            owner = cls if isinstance(cls, str) else owner
            if isinstance(cls, str) and cls in _CODE_CLASSES:
                found.append(f"a {cls} layer or function (Python code, which the grader never "
                             "runs); use Keras' own layers")
            module = node.get("module")
            if isinstance(module, str) and module and not module.split(".")[0] in ("keras",):
                found.append(f"a class from the module {module!r}, outside Keras")
            registered = node.get("registered_name")
            if isinstance(registered, str) and ">" in registered:
                found.append(f"the custom object {registered!r}; save it with Keras' own "
                             "layers (the current course does)")
            if node.get("stateful") is True:
                found.append(f"a stateful layer ({owner[:40]}): "
                             "its state would carry from one batch of photos to the next; "
                             "the grader takes only stateless models")
            stack.extend((value, depth + 1, owner) for value in node.values())
        elif isinstance(node, list):
            stack.extend((value, depth + 1, owner) for value in node)


def _input_size(config) -> int | None:
    """The square input size the config declares, or None when it says none;
    :class:`RefusedSubmission` when it declares one that is not a sane size."""
    inner = config.get("config") if isinstance(config, dict) else None
    layers = inner.get("layers") if isinstance(inner, dict) else None
    if not isinstance(layers, list):
        return None
    for layer in layers:
        if not (isinstance(layer, dict) and layer.get("class_name") == "InputLayer"):
            continue
        conf = layer.get("config")
        if not isinstance(conf, dict):
            raise RefusedSubmission("its InputLayer has no config")
        shape = conf.get("batch_shape") or conf.get("batch_input_shape")
        if not (isinstance(shape, list) and len(shape) == 4):
            continue
        height, width, channels = shape[1:]
        if height is None and width is None:
            return None
        if not all(type(v) is int for v in (height, width, channels)) or height != width \
                or channels != 3 or not MIN_INPUT_SIZE <= height <= MAX_INPUT_SIZE:
            raise RefusedSubmission(
                f"its input is declared as {str(shape[1:])[:60]}; the grader feeds square RGB "
                f"photos of {MIN_INPUT_SIZE}-{MAX_INPUT_SIZE} px (the course's backbones "
                "take 224-260)")
        return height
    return None


def inspect(path) -> Inspection:
    """Check ``path`` as described in the module's docstring; raise
    :class:`RefusedSubmission` or return what the grader needs to know. Any
    error the checks did not foresee is a refusal too."""
    path = Path(path)
    try:
        return _inspect(path)
    except RefusedSubmission:
        raise
    except (Exception, RecursionError, MemoryError) as e:
        raise RefusedSubmission(f"{path.name} could not be checked ({e.__class__.__name__}: "
                                f"{str(e)[:120]}); save the model again with "
                                "helpers.lessons.train.save_classifier") from None


def _inspect(path: Path) -> Inspection:
    if path.is_symlink():
        raise RefusedSubmission(f"{path.name} is a symbolic link; hand in the file itself")
    if not path.is_file():
        raise RefusedSubmission(f"{path.name}: no such file; hand in the .keras file your "
                                "notebook saved")
    size = path.stat().st_size
    if size > MAX_ARCHIVE_BYTES:
        raise RefusedSubmission(f"{path.name} is {size / 1e6:,.0f} MB, over the limit of "
                                f"{MAX_ARCHIVE_BYTES / 1e6:,.0f} MB; use one of the course's "
                                "backbones")
    if not zipfile.is_zipfile(path):
        raise RefusedSubmission(f"{path.name} is not a .keras file (not a zip archive); save "
                                "the model with helpers.lessons.train.save_classifier")
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
            if len(infos) > MAX_MEMBERS:
                raise RefusedSubmission(f"{path.name} holds {len(infos):,} files, over the "
                                        f"limit of {MAX_MEMBERS}; a .keras file holds four")
            for info in infos:
                _check_member(info)
            too_big = [i.filename for i in infos if i.file_size > MAX_MEMBER_BYTES]
            if too_big or sum(i.file_size for i in infos) > MAX_TOTAL_BYTES:
                raise RefusedSubmission(f"{path.name} unpacks to more than its limit "
                                        f"({', '.join(too_big) or 'in all'}; a zip bomb?)")
            names = set(zf.namelist())
            if "config.json" not in names:
                raise RefusedSubmission(f"{path.name} has no config.json: it is not a Keras "
                                        "model file; save it with model.save(...)")
            if "class_names.json" not in names:
                raise RefusedSubmission(f"{path.name} has no class names inside; save it with "
                                        "helpers.lessons.train.save_classifier(model, path, class_names)")
            config = json.loads(_read_member(zf, "config.json", MAX_CONFIG_BYTES))
            class_names = json.loads(_read_member(zf, "class_names.json", MAX_NAMES_BYTES))
    except (zipfile.BadZipFile, OSError, EOFError) as e:
        raise RefusedSubmission(f"{path.name} is a damaged archive ({e}); save it again") from e
    except RefusedSubmission:
        raise
    except (ValueError, RecursionError) as e:   # JSON errors, 5,000-digit numbers, deep nesting
        raise RefusedSubmission(f"{path.name}: config.json or class_names.json is not valid "
                                f"JSON ({e.__class__.__name__}: {str(e)[:120]}); save the model "
                                "again") from None
    if not (isinstance(class_names, list) and class_names
            and all(isinstance(n, str) and 0 < len(n) <= 200 for n in class_names)):
        raise RefusedSubmission(f"{path.name}: class_names.json must be a list of class names "
                                "(strings); save it with helpers.lessons.train.save_classifier")
    if len(set(class_names)) != len(class_names):
        raise RefusedSubmission(f"{path.name}: class_names.json names a class twice")
    problems: list[str] = []
    _walk(config, problems)
    if problems:
        raise RefusedSubmission(f"{path.name} contains {problems[0]}")
    if not isinstance(config, dict):
        raise RefusedSubmission(f"{path.name}: config.json is not a Keras model config; save "
                                "the model again")
    inner = config.get("config")
    layers = inner.get("layers") if isinstance(inner, dict) else None
    try:
        size = _input_size(config)
    except RefusedSubmission as e:
        raise RefusedSubmission(f"{path.name}: {e}") from None
    return Inspection(class_names, size, len(layers) if isinstance(layers, list) else 0)
