"""Where datasets come from: a registry with pinned checksums and mirrors,
downloads, safe extraction, per-file manifests, and finding a staged copy.

Introduced in notebook 01. A dataset is looked for, in order:

1. an explicit folder (``data_dir=...`` or ``--data-dir``);
2. ``$TL_DATA_DIR/<name>`` (pre-staged classroom data, e.g. ``../shared/data``);
3. the course's own materials in the repository (``data/<name>``: pets-mini, samples);
4. the course cache (``<cache>/datasets/<name>``), filled by
   ``python -m helpers data fetch NAME`` (online) or from an instructor's data pack
   (``python -m helpers data fetch --all --from URL``, :mod:`helpers.data.packs`).

Nothing here deletes or rewrites a dataset: a download whose checksum does not
match is kept for inspection, and a manifest check only reports.
"""

from __future__ import annotations

import dataclasses
import os
import socket
import tempfile
import time
import tomllib
from pathlib import Path

from helpers import settings
from helpers.data.archives import UnsafeArchiveError, safe_extract
from helpers.data.images import IMAGE_SUFFIXES

__all__ = ["DATASETS", "DatasetInfo", "DatasetUnavailableError", "ManifestMismatchError",
           "Remote", "UnsafeArchiveError", "available", "dataset_info", "download", "fetch",
           "find_dataset", "safe_extract", "verify_manifest"]

MANIFESTS = Path(__file__).parent / "manifests"
# The course's own small materials (pets-mini, samples), committed in the repository
# beside the package; the package is installed from a clone (``pip install -e .``).
MATERIALS = Path(__file__).resolve().parents[2] / "data"


class DatasetUnavailableError(FileNotFoundError):
    """A dataset is neither pre-staged nor downloadable; the message says how to stage it."""


class ManifestMismatchError(ValueError):
    """A staged dataset differs from its manifest; the message names the files."""


@dataclasses.dataclass(frozen=True)
class Remote:
    filename: str
    urls: tuple[str, ...]          # tried in order (mirrors)
    file_hash: str | None          # sha256 (64 hex) or md5 (32 hex); None: see the manifest


@dataclasses.dataclass(frozen=True)
class DatasetInfo:
    name: str
    description: str
    remotes: tuple[Remote, ...]
    image_folders: tuple[str, ...]  # where the images are in a staged copy, tried in order
    layout: str                     # "subfolders", "oxford" (names) or "splits" (train/, validation/)
    homepage: str
    manifest: str | None = None     # sha256 of every file, in helpers/data/manifests/
    download_mb: int = 0            # what a download costs, said before it starts


def _registry(path=Path(__file__).parent / "datasets.toml") -> dict[str, DatasetInfo]:
    """The datasets of ``datasets.toml``, with their remotes."""
    with open(path, "rb") as f:
        entries = tomllib.load(f)
    return {name: DatasetInfo(
        name=name, description=e["description"],
        remotes=tuple(Remote(r["filename"], tuple(r["urls"]), r.get("file_hash"))
                      for r in e.get("remotes", ())),
        image_folders=tuple(e["image_folders"]), layout=e["layout"], homepage=e["homepage"],
        manifest=e.get("manifest"), download_mb=e.get("download_mb", 0))
        for name, e in entries.items()}


DATASETS = _registry()


def dataset_info(name: str) -> DatasetInfo:
    try:
        return DATASETS[name]
    except KeyError:
        raise ValueError(f"unknown dataset {name!r}; known: {', '.join(DATASETS)}") from None


def staging_help(info: DatasetInfo) -> str:
    """How to make dataset ``info`` available here, in one paragraph."""
    if not info.remotes:
        return (f"'{info.name}' is one of the course's own materials, in the repository's "
                f"data/{info.name}/ ({MATERIALS / info.name} is missing): install the course "
                f"from a clone (pip install -e .), or point TL_DATA_DIR at a folder that "
                f"contains {info.name}/.")
    files = ", ".join(r.filename for r in info.remotes)
    return (f"Pre-stage it on a machine with internet: `python -m helpers data fetch "
            f"{info.name} --dest DIR`, copy DIR/{info.name} to this machine and set "
            f"TL_DATA_DIR=DIR; or download {files} from {info.homepage} and extract "
            f"into $TL_DATA_DIR/{info.name}/.")


# --------------------------------------------------------------- downloads

def verify_file(path, file_hash) -> None:
    """Raise ``ValueError`` naming the file when its md5/sha256 does not match."""
    algorithm = "sha256" if len(file_hash) == 64 else "md5"
    digest = settings.file_hash(path, algorithm)
    if digest != file_hash:
        raise ValueError(f"{path}: checksum mismatch ({algorithm} {digest}, expected "
                         f"{file_hash}); the download is incomplete or altered. The file "
                         "was kept for inspection; delete it and fetch again.")


def download(remote: Remote, folder) -> Path:
    """Download ``remote`` into ``folder`` with ``keras.utils.get_file`` (progress bar,
    checksum), trying each mirror in turn. A cached, verified file is reused."""
    import keras

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / remote.filename
    if target.exists():
        if remote.file_hash:
            verify_file(target, remote.file_hash)
        return target
    errors = []
    for url in remote.urls:
        # download into a private folder, then move into place: a file at ``target``
        # is always a whole, verified download
        with tempfile.TemporaryDirectory(dir=folder, prefix=".downloading-") as tmp:
            try:
                path = keras.utils.get_file(remote.filename, url, cache_dir=tmp,
                                            cache_subdir=".")
            except Exception as e:  # keras raises Exception on network errors
                errors.append(f"{url}: {e.__class__.__name__}: {e}")
                continue
            if remote.file_hash:
                try:
                    verify_file(path, remote.file_hash)
                except ValueError:
                    kept = folder / f"{remote.filename}.checksum-mismatch"
                    os.replace(path, kept)
                    errors.append(f"{url}: checksum mismatch; the download is kept as {kept} "
                                  "for inspection (delete it once you are done)")
                    continue
            os.replace(path, target)
            return target
    raise DatasetUnavailableError(
        f"could not download {remote.filename}:\n  " + "\n  ".join(errors))


def fetch(name: str, dest=None) -> Path:
    """Download, verify and extract dataset ``name`` into ``dest/name`` (default: the
    course cache); returns that folder. Used by :func:`find_dataset`."""
    info = dataset_info(name)
    if not info.remotes:
        raise DatasetUnavailableError(staging_help(info))
    target = (Path(dest) if dest else settings.cache_dir() / "datasets") / name
    downloads = target / "downloads"
    try:
        archives = [download(r, downloads) for r in info.remotes]
    except DatasetUnavailableError as e:
        raise DatasetUnavailableError(f"{e}\n{staging_help(info)}") from None
    for archive in archives:
        marker = target / f".extracted-{archive.name}"
        if not marker.exists():
            safe_extract(archive, target)
            settings.atomic_write_text(marker, time.strftime("%Y-%m-%d %H:%M:%S"))
    if info.manifest:
        problems = verify_manifest(image_folder(info, target), info.manifest)
        if problems:
            raise ManifestMismatchError(format_manifest_problems(target, problems))
    return target


def online() -> bool:
    """Whether this machine can resolve a download host (no data is sent)."""
    try:
        socket.getaddrinfo("download.microsoft.com", 443)
        return True
    except OSError:
        return False


# -------------------------------------------------------------- manifests

def read_manifest(manifest) -> dict[str, str]:
    """``{relative path: sha256}`` from a ``sha256sum``-style file in helpers/data/manifests/."""
    path = Path(manifest) if Path(manifest).is_absolute() else MANIFESTS / manifest
    out = {}
    for line in path.read_text().splitlines():
        if line.strip():
            digest, rel = line.split(None, 1)
            out[rel.strip().lstrip("*").removeprefix("./")] = digest
    return out


def verify_manifest(root, manifest, counts=lambda p: p.suffix.lower() in IMAGE_SUFFIXES
                    ) -> dict[str, list[str]]:
    """Compare the files under ``root`` with a manifest; nothing is changed.

    Returns ``{"missing": [...], "extra": [...], "changed": [...]}`` holding only
    the non-empty lists (an empty dict: the copy is exact). Only files for which
    ``counts(path)`` is true can be extra (by default images); hidden files never.
    Notebook 05's arrays (:mod:`helpers.data.arrays`) count every file but the manifest
    and the attribution.
    """
    root = Path(root)
    expected = read_manifest(manifest)
    present = {str(p.relative_to(root)) for p in root.rglob("*")
               if p.is_file() and not p.name.startswith(".") and counts(p)}
    problems = {
        "missing": sorted(set(expected) - present),
        "extra": sorted(present - set(expected)),
        "changed": sorted(rel for rel in set(expected) & present
                          if settings.file_hash(root / rel) != expected[rel]),
    }
    return {k: v for k, v in problems.items() if v}


def format_manifest_problems(root, problems, limit=10) -> str:
    lines = [f"{root}: differs from the course's manifest (nothing was changed):"]
    for kind, files in problems.items():
        shown = ", ".join(files[:limit]) + (f" and {len(files) - limit} more"
                                            if len(files) > limit else "")
        lines.append(f"  {len(files)} {kind}: {shown}")
    lines.append("  Restore those files from the original archive, or fetch the dataset "
                 "again into a new folder (`python -m helpers data fetch NAME --dest DIR`).")
    return "\n".join(lines)


def manifest_for(folder) -> str | None:
    """The manifest of the dataset staged in ``folder`` (matched by name), if any."""
    for info in DATASETS.values():
        if info.manifest and Path(folder).resolve().name == info.name:
            return info.manifest
    return None


# ------------------------------------------------------------------ finding

def image_folder(info: DatasetInfo, folder) -> Path | None:
    """The folder of images inside a staged copy of ``info``, or None."""
    for sub in info.image_folders:
        images = Path(folder) / sub
        if info.layout == "splits":
            if (images / "train").is_dir():
                return images
        elif images.is_dir() and any(images.iterdir()):
            return images
    return None


def find_dataset(name: str, data_dir=None, download_if_missing=False) -> Path:
    """The image folder of dataset ``name``: explicit folder, ``$TL_DATA_DIR/name``,
    the course cache, or (``download_if_missing``) a fresh download. Notebooks 01-02, lab.

    Raises :class:`DatasetUnavailableError` saying how to pre-stage the data.
    """
    info = dataset_info(name)
    candidates = []
    if data_dir:
        candidates += [Path(data_dir), Path(data_dir) / name]
    candidates += staged_candidates(name)
    for folder in candidates:
        images = image_folder(info, folder)
        if images is not None:
            return images
    if data_dir and not Path(data_dir).exists():
        raise DatasetUnavailableError(f"{data_dir}: no such folder. {staging_help(info)}")
    if download_if_missing and info.remotes:
        if not online():
            raise DatasetUnavailableError(
                f"dataset '{name}' is not staged here and this machine is offline. "
                + staging_help(info))
        return image_folder(info, fetch(name))
    looked = ", ".join(str(c) for c in candidates)
    raise DatasetUnavailableError(
        f"dataset '{name}' not found (looked in {looked}). {staging_help(info)}")


def staged_candidates(name: str) -> list[Path]:
    """Where a staged copy of ``name`` may be, in the order they are used:
    ``$TL_DATA_DIR``, the repository's materials, the course cache."""
    roots = [settings.data_dir(), MATERIALS, settings.cache_dir() / "datasets"]
    return [root / name for root in roots if root is not None]


def staged_folder(name: str) -> Path | None:
    """The first staged folder of ``name`` that exists (see :func:`staged_candidates`)."""
    return next((f for f in staged_candidates(name) if f.is_dir()), None)


def available(name: str) -> bool:
    """Whether dataset ``name`` is staged here (no download is tried)."""
    try:
        find_dataset(name)
        return True
    except DatasetUnavailableError:
        return False


def sample_photo(kind: str) -> Path | None:
    """``samples/{cat,dog}.jpg`` from ``$TL_DATA_DIR`` or the repository's materials.
    Notebooks 01 and 04."""
    for folder in staged_candidates("samples"):
        if (folder / f"{kind}.jpg").exists():
            return folder / f"{kind}.jpg"
    return None
