"""Extracting a downloaded archive safely and atomically.

Used by :func:`helpers.data.sources.fetch` (``python -m helpers data fetch``). Every
member of a ``.zip`` or ``.tar(.gz)`` is checked before anything is written:
no absolute paths, no ``..``, no links or devices, and no more than
``TL_MAX_EXTRACT_BYTES`` in all (a decompression bomb would fill the disk).
Members are extracted into a temporary folder beside the target and moved into
place only when all of them are complete, so an interrupted extraction never
leaves half a dataset that looks whole.
"""

from __future__ import annotations

import os
import re
import shutil
import tarfile
import tempfile
import zipfile
from pathlib import Path

from helpers import settings


class UnsafeArchiveError(ValueError):
    """An archive member would land outside the target folder, or the archive is too large."""


def _check_member_name(name: str, archive) -> None:
    parts = Path(name).parts
    if name.startswith(("/", "\\")) or (parts and re.match(r"^[A-Za-z]:", parts[0])):
        raise UnsafeArchiveError(f"{archive}: member {name!r} has an absolute path; refusing "
                                 "to extract (the archive is damaged or malicious)")
    if ".." in parts:
        raise UnsafeArchiveError(f"{archive}: member {name!r} points outside the target "
                                 "folder ('..'); refusing to extract")


def _check_total(archive, total: int) -> None:
    limit = settings.max_extract_bytes()
    if total > limit:
        raise UnsafeArchiveError(
            f"{archive}: would extract {total / 1e6:,.0f} MB, over the limit of "
            f"{limit / 1e6:,.0f} MB (a decompression bomb?); if the archive is genuine, "
            "raise TL_MAX_EXTRACT_BYTES")


def _check_zip(zf: zipfile.ZipFile, archive) -> None:
    for info in zf.infolist():
        _check_member_name(info.filename, archive)
        if (info.external_attr >> 16) & 0o170000 == 0o120000:
            raise UnsafeArchiveError(f"{archive}: member {info.filename!r} is a "
                                     "symbolic link; refusing to extract")
    _check_total(archive, sum(info.file_size for info in zf.infolist()))


def _check_tar(tar: tarfile.TarFile, archive) -> None:
    members = tar.getmembers()
    for member in members:
        _check_member_name(member.name, archive)
        if member.issym() or member.islnk():
            raise UnsafeArchiveError(f"{archive}: member {member.name!r} is a link; "
                                     "refusing to extract")
        if not (member.isfile() or member.isdir()):
            raise UnsafeArchiveError(f"{archive}: member {member.name!r} is a device "
                                     "or special file; refusing to extract")
    _check_total(archive, sum(m.size for m in members))


def safe_extract(archive, dest) -> Path:
    """Extract a .zip or .tar(.gz) into ``dest``, refusing unsafe or oversized
    archives, through a temporary folder moved into place at the end. Entries
    already in ``dest`` are left as they are (nothing is overwritten or deleted)."""
    archive, dest = Path(archive), Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    if zipfile.is_zipfile(archive):
        opened, check = zipfile.ZipFile(archive), _check_zip
    else:
        try:
            opened, check = tarfile.open(archive), _check_tar
        except tarfile.TarError as e:
            raise ValueError(f"{archive}: not a zip or tar archive ({e}); delete it and "
                             "download it again") from e
    staging = Path(tempfile.mkdtemp(dir=dest, prefix=f".extracting-{archive.name}-"))
    try:
        with opened:
            check(opened, archive)                 # every member, before writing anything
            if isinstance(opened, tarfile.TarFile):
                opened.extractall(staging, filter="data")
            else:
                opened.extractall(staging)
        for entry in sorted(staging.iterdir()):
            target = dest / entry.name
            if target.exists():
                _merge(entry, target)
            else:
                os.replace(entry, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)   # only our own temporary folder
    return dest


def _merge(src: Path, dst: Path) -> None:
    """Move what ``src`` has and ``dst`` lacks into ``dst``; keep what ``dst`` has."""
    if not (src.is_dir() and dst.is_dir()):
        return
    for entry in src.iterdir():
        target = dst / entry.name
        if target.exists():
            _merge(entry, target)
        else:
            os.replace(entry, target)
