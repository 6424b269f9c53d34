"""Every setting of the course, read from the environment in one place.

Nothing is read at import time: each function looks at the environment when it
is called, so a notebook or a test can change a variable and see the effect.
The variables (documented once, in README.md, "Settings"):

``TL_PROFILE``     ``quick`` (default: minutes, offline) or ``full`` (downloads, hours):
                   see :func:`helpers.lessons.resolve_profile`
``TL_DATA_DIR``    a folder of pre-staged datasets (``<name>/`` inside it)
``TL_CACHE_DIR``   the course cache (converted weights, features, splits, reports);
                   default ``$KERAS_HOME/tl-course``
``TL_OUTPUT_DIR``  where notebooks write models and figures; default ``output``
``TL_MAX_PIXELS``  images larger than this are refused (default 64,000,000)
``TL_MAX_FRAMES``  animations with more frames are refused (default 100)
``TL_MAX_EXTRACT_BYTES``  archives that would extract to more are refused (default 8 GB)
``TL_LANG``        the language of the self-checks a notebook shows: ``en``, ``ru``, ``uk``,
                   ``zh-TW`` or ``sl``; unset: inferred from the folder the notebook runs
                   in (``translations/<lang>/...``), else English (:func:`language`)
``KERAS_HOME``     Keras' own folder (``~/.keras``); downloaded weights live in
                   ``models/`` inside it

Writing into the cache goes through :func:`atomic_write`, so two notebooks or
processes sharing one cache (a class on one lab machine) never see a
half-written file.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

PROFILES = ("quick", "full")
DEFAULT_MAX_PIXELS = 64_000_000
DEFAULT_MAX_FRAMES = 100


def _env(name: str) -> str | None:
    value = os.environ.get(name, "").strip()
    return value or None


def keras_home() -> Path:
    """Keras' own folder: ``$KERAS_HOME`` or ``~/.keras`` (weights go in ``models/``)."""
    return Path(_env("KERAS_HOME") or Path.home() / ".keras").expanduser()


def cache_dir() -> Path:
    """The course cache: ``$TL_CACHE_DIR`` or ``$KERAS_HOME/tl-course``."""
    root = _env("TL_CACHE_DIR")
    return Path(root).expanduser() if root else keras_home() / "tl-course"


def data_dir() -> Path | None:
    """``$TL_DATA_DIR`` (pre-staged datasets), or None when unset."""
    root = _env("TL_DATA_DIR")
    return Path(root).expanduser() if root else None


def output_dir() -> Path:
    """Where notebooks write their models and figures: ``$TL_OUTPUT_DIR`` or ``output``."""
    return Path(_env("TL_OUTPUT_DIR") or "output")


def _whole_number(name: str, default: int) -> int:
    value = _env(name)
    try:
        return int(value) if value else default
    except ValueError:
        raise ValueError(f"{name}={value!r} is not a whole number") from None


def max_pixels() -> int:
    """The largest image (in pixels) the course opens: ``$TL_MAX_PIXELS``."""
    return _whole_number("TL_MAX_PIXELS", DEFAULT_MAX_PIXELS)


def max_frames() -> int:
    """The most frames an animated image may have: ``$TL_MAX_FRAMES``. Only the first
    frame is decoded, but counting a huge animation's frames is itself costly."""
    return _whole_number("TL_MAX_FRAMES", DEFAULT_MAX_FRAMES)


def max_extract_bytes() -> int:
    """The most bytes one archive may extract to: ``$TL_MAX_EXTRACT_BYTES``."""
    return _whole_number("TL_MAX_EXTRACT_BYTES", 8_000_000_000)


def profile(requested: str | None = None) -> str:
    """The profile: ``requested``, else ``$TL_PROFILE``, else ``quick``; ``quick`` (the
    default) or ``full``. The course's one reader of it (notebooks call it through
    :func:`helpers.lessons.resolve_profile`)."""
    name = (requested or _env("TL_PROFILE") or "quick").lower()
    if name not in PROFILES:
        where = "" if requested else "TL_PROFILE="
        raise ValueError(f"{where}{name!r} is not a profile: use quick (the default: "
                         "minutes on a laptop, offline) or full (downloads the full "
                         "datasets; hours on a CPU)")
    return name


LANGUAGES = ("en", "ru", "uk", "zh-TW", "sl")


def language() -> str:
    """The students' language, ``$TL_LANG``; unset, the ``<lang>`` of a working folder
    under ``translations/<lang>/`` (where Jupyter starts a translated notebook's
    kernel), else ``en``. Only the self-checks follow it (:mod:`helpers.lessons.quiz`);
    plots and printed lines stay in English. Issue #47."""
    value = _env("TL_LANG")
    if value:
        for lang in LANGUAGES:
            if value.lower() == lang.lower():
                return lang
        raise ValueError(f"TL_LANG={value!r} is not a course language: use one of "
                         f"{', '.join(LANGUAGES)}")
    try:
        parts = Path.cwd().parts
    except OSError:          # the working folder was removed
        return "en"
    for i in range(len(parts) - 2, -1, -1):
        if parts[i] == "translations" and parts[i + 1] in LANGUAGES[1:]:
            return parts[i + 1]
    return "en"


def backbone_table() -> list[str] | None:
    """The backbones notebook 01's table compares, ``$TL_BACKBONE_TABLE`` (names
    separated by commas); ``None`` (the default): every one whose weights are here.
    ``make test`` sets it to ``efficientnet_lite0`` for its runs on PyTorch and JAX,
    whose features of Lite1 and Lite2 would cost CI about 4 minutes each."""
    value = _env("TL_BACKBONE_TABLE")
    return [name.strip() for name in value.split(",") if name.strip()] if value else None


# ---------------------------------------------------------------- files

def file_hash(path, algorithm: str = "sha256") -> str:
    """Hex digest of a file, read in 1 MiB chunks (``sha256`` or ``md5``)."""
    h = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def atomic_write(path, write) -> Path:
    """Write ``path`` through ``write(tmp_path)`` into a uniquely named temporary
    file beside it, then ``os.replace`` it into place.

    A reader sees the old file or the new one, never half of one, and two
    writers never share a temporary file (the last replace wins; both were
    complete).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # keep the real suffix last: numpy and Keras pick the format from it
    suffix = ".weights.h5" if path.name.endswith(".weights.h5") else path.suffix
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name[:-len(suffix) or None]}.",
                               suffix=".tmp" + suffix)
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def atomic_write_text(path, text: str) -> Path:
    """:func:`atomic_write` for a text file."""
    return atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))
