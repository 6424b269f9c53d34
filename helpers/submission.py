"""Checking a handed-in ``.keras`` file before anything in it is built or run.

Used by the grader (``python -m helpers grade``, :mod:`helpers.gradebook`). A
``.keras`` file is a zip archive holding ``config.json`` (the architecture),
``model.weights.h5`` and, from the course, ``class_names.json``. This module
reads those members with size limits and refuses, with a reason a student can
act on:

* a symbolic link, a file that is not a zip archive, an archive or member over
  its size limit (a zip bomb), a ``class_names.json`` that is not a list of
  names;
* a config with a ``Lambda`` layer or a serialised function (Python code),
  a class from a module outside Keras, or a custom object (``package>Name``),
  none of which plain Keras can load safely.

Only then does the grader call ``keras.models.load_model(..., safe_mode=True)``,
in a separate process (:mod:`helpers.gradeworker`).
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
MAX_INPUT_SIZE = 600                   # pixels; the course's backbones take 224-260
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
    if info.file_size > limit:
        raise RefusedSubmission(f"{name} inside the file is {info.file_size:,} bytes, over the "
                                f"limit of {limit:,}; save the model again with "
                                "helpers.train.save_classifier")
    with zf.open(info) as f:
        data = f.read(limit + 1)          # never more than the limit, whatever the header says
    if len(data) > limit:
        raise RefusedSubmission(f"{name} inside the file unpacks to more than {limit:,} bytes "
                                "(a zip bomb?)")
    return data


def _walk(node, found: list[str]) -> None:
    """Collect, from a Keras config, every reason not to build it."""
    if isinstance(node, dict):
        cls = node.get("class_name")
        if isinstance(cls, str) and cls in _CODE_CLASSES:
            found.append(f"a {cls} layer or function (Python code, which the grader never "
                         "runs); use Keras' own layers")
        module = node.get("module")
        if isinstance(module, str) and module and not module.split(".")[0] in ("keras",):
            found.append(f"a class from the module {module!r}, outside Keras")
        registered = node.get("registered_name")
        if isinstance(registered, str) and ">" in registered:
            found.append(f"the custom object {registered!r}; save it with Keras' own layers "
                         "(the current course does)")
        for value in node.values():
            _walk(value, found)
    elif isinstance(node, list):
        for value in node:
            _walk(value, found)


def _input_size(config: dict) -> int | None:
    try:
        for layer in config["config"]["layers"]:
            if layer.get("class_name") == "InputLayer":
                shape = layer["config"].get("batch_shape") or layer["config"].get("batch_input_shape")
                if shape and len(shape) == 4 and shape[1] == shape[2] and shape[3] == 3:
                    return int(shape[1]) if shape[1] else None
    except (KeyError, TypeError, ValueError):
        return None
    return None


def inspect(path) -> Inspection:
    """Check ``path`` as described in the module's docstring; raise
    :class:`RefusedSubmission` or return what the grader needs to know."""
    path = Path(path)
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
                                "the model with helpers.train.save_classifier")
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
            too_big = [i.filename for i in infos if i.file_size > MAX_MEMBER_BYTES]
            if too_big or sum(i.file_size for i in infos) > 2 * MAX_MEMBER_BYTES:
                raise RefusedSubmission(f"{path.name} unpacks to more than its limit "
                                        f"({', '.join(too_big) or 'in all'}; a zip bomb?)")
            names = set(zf.namelist())
            if "config.json" not in names:
                raise RefusedSubmission(f"{path.name} has no config.json: it is not a Keras "
                                        "model file; save it with model.save(...)")
            if "class_names.json" not in names:
                raise RefusedSubmission(f"{path.name} has no class names inside; save it with "
                                        "helpers.train.save_classifier(model, path, class_names)")
            config = json.loads(_read_member(zf, "config.json", MAX_CONFIG_BYTES))
            class_names = json.loads(_read_member(zf, "class_names.json", MAX_NAMES_BYTES))
    except (zipfile.BadZipFile, OSError, EOFError) as e:
        raise RefusedSubmission(f"{path.name} is a damaged archive ({e}); save it again") from e
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise RefusedSubmission(f"{path.name}: config.json or class_names.json is not valid "
                                f"JSON ({e}); save the model again") from e
    if not (isinstance(class_names, list) and class_names
            and all(isinstance(n, str) and 0 < len(n) <= 200 for n in class_names)):
        raise RefusedSubmission(f"{path.name}: class_names.json must be a list of class names "
                                "(strings); save it with helpers.train.save_classifier")
    if len(set(class_names)) != len(class_names):
        raise RefusedSubmission(f"{path.name}: class_names.json names a class twice")
    problems: list[str] = []
    _walk(config, problems)
    if problems:
        raise RefusedSubmission(f"{path.name} contains {problems[0]}")
    layers = config.get("config", {}).get("layers", []) if isinstance(config, dict) else []
    size = _input_size(config)
    if size is not None and size > MAX_INPUT_SIZE:
        raise RefusedSubmission(f"{path.name} takes {size}x{size} images, over the limit of "
                                f"{MAX_INPUT_SIZE}; the course's backbones take 224-260 px")
    return Inspection(class_names, size, len(layers))
