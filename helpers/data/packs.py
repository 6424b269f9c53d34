"""An instructor's data pack: every staged dataset as one archive, with checksums.

``python -m helpers data pack DEST`` writes each dataset staged under
``TL_DATA_DIR`` as ``DEST/<name>.tar`` (photos and ``.gz`` files do not compress
further), plus ``DEST/pack.json`` (the index: file, size and sha256 of each) and
``DEST/SHA256SUMS`` (the same sums, for ``sha256sum -c``). Put DEST on any web
server: a campus mirror, a hub's file server, ``python -m http.server``.

``python -m helpers data fetch --all --from URL [--dest DIR]`` downloads a pack
into the course cache (``<cache>/datasets``), where every loader finds it
(notebooks 01-05 and the lab, through :func:`helpers.data.sources.staged_folder`):

* each archive is downloaded to a temporary file with a progress bar, checked
  against the pack's sha256, and only then extracted, member names checked first
  (:func:`helpers.data.archives.safe_extract`), into a temporary folder that is moved
  into place whole: an interrupted download or extraction leaves nothing that
  looks like a dataset;
* an archive whose checksum differs is kept aside as ``<file>.checksum-mismatch``;
* a dataset already fetched from the same archive (same sha256) is not downloaded
  again, so a rerun with the server gone uses what was fetched.
"""

from __future__ import annotations

import json
import os
import tarfile
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from helpers import settings
from helpers.data.archives import safe_extract

__all__ = ["PackError", "fetch_pack", "pack_names", "write_pack"]

FORMAT = "tl-course-pack/1"
INDEX = "pack.json"


class PackError(RuntimeError):
    """A pack could not be written, read or fetched; the message says why and what to do."""


class ServerUnreachableError(PackError):
    """The pack's server did not answer (as opposed to answering with an error)."""


# -------------------------------------------------------------------- writing

def write_pack(dest, data_dir=None, names=None) -> dict:
    """Write every dataset folder of ``data_dir`` (default ``TL_DATA_DIR``) into
    ``dest`` as one archive each, with ``pack.json`` and ``SHA256SUMS``. Returns the
    index. Nothing in ``data_dir`` is changed."""
    source = Path(data_dir) if data_dir else settings.data_dir()
    if source is None or not source.is_dir():
        raise PackError(f"{source or 'TL_DATA_DIR'}: no staged data to pack; set TL_DATA_DIR "
                        "to the folder that holds the datasets (e.g. ../shared/data)")
    folders = sorted(p for p in source.iterdir() if p.is_dir() and not p.name.startswith("."))
    if names:
        missing = sorted(set(names) - {p.name for p in folders})
        if missing:
            raise PackError(f"{source}: no dataset folder {', '.join(missing)}")
        folders = [p for p in folders if p.name in names]
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    index = {"format": FORMAT, "datasets": {}}
    for folder in folders:
        archive = dest / f"{folder.name}.tar"
        print(f"packing {folder.name} ...", flush=True)
        settings.atomic_write(archive, lambda tmp, f=folder: _tar(f, tmp))
        index["datasets"][folder.name] = {"file": archive.name, "bytes": archive.stat().st_size,
                                          "sha256": settings.file_hash(archive)}
    settings.atomic_write_text(dest / INDEX, json.dumps(index, indent=1, sort_keys=True) + "\n")
    settings.atomic_write_text(dest / "SHA256SUMS", "".join(
        f"{d['sha256']}  {d['file']}\n" for d in index["datasets"].values()))
    return index


def _tar(folder: Path, path) -> None:
    def clean(info: tarfile.TarInfo):     # reproducible and owner-free members
        info.uid = info.gid = 0
        info.uname = info.gname = ""
        info.mode = 0o755 if info.isdir() else 0o644
        return None if Path(info.name).name.startswith(".") else info

    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as tar:
        tar.add(folder, arcname=folder.name, filter=clean)


# ------------------------------------------------------------------- fetching

def _url(base: str, name: str) -> str:
    return urllib.parse.urljoin(base if base.endswith("/") else base + "/", name)


def _read_index(base: str, timeout: float) -> dict:
    url = _url(base, INDEX)
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            raw = r.read(1_000_000)
    except urllib.error.HTTPError as e:
        raise PackError(f"{url}: HTTP {e.code}; is {base} a course data pack (made by "
                        "`python -m helpers data pack`)? Ask your instructor for its address")
    except (urllib.error.URLError, OSError) as e:
        raise ServerUnreachableError(f"{url}: cannot reach the server "
                                     f"({getattr(e, 'reason', e)})")
    try:
        index = json.loads(raw)
        datasets = index["datasets"]
        ok = index.get("format") == FORMAT and all(
            isinstance(d.get("file"), str) and "/" not in d["file"] and "\\" not in d["file"]
            and len(d.get("sha256", "")) == 64 for d in datasets.values())
    except (ValueError, KeyError, TypeError, AttributeError):
        ok = False
    if not ok:
        raise PackError(f"{url}: not a course data pack index (expected {FORMAT!r} with a "
                        "file and sha256 per dataset); check the address")
    return index


def _download(url: str, target: Path, size: int | None, timeout: float) -> None:
    """Download ``url`` to ``target`` (a temporary name), with a progress bar."""
    from tqdm.auto import tqdm

    try:
        with urllib.request.urlopen(url, timeout=timeout) as r, open(target, "wb") as out, \
                tqdm(total=size, unit="B", unit_scale=True, desc=target.name.split(".part")[0],
                     leave=False) as bar:
            while chunk := r.read(1 << 20):
                out.write(chunk)
                bar.update(len(chunk))
    except urllib.error.HTTPError as e:
        raise PackError(f"{url}: HTTP {e.code}; the pack on the server is incomplete")
    except (urllib.error.URLError, OSError) as e:  # includes a connection cut mid-way
        raise PackError(f"{url}: the download broke off ({getattr(e, 'reason', e)}); run the "
                        "same command again")
    if size is not None and target.stat().st_size != size:
        raise PackError(f"{url}: the server sent {target.stat().st_size:,} bytes of "
                        f"{size:,}; the download broke off; run the same command again")


def pack_names(base: str, timeout: float = 30) -> list[str]:
    """The datasets the pack at ``base`` holds."""
    return sorted(_read_index(base, timeout)["datasets"])


def fetch_pack(base: str, dest=None, names=None, timeout: float = 30) -> dict[str, Path]:
    """Fetch datasets ``names`` (default: all) of the pack at ``base`` into ``dest``
    (default ``<cache>/datasets``). Returns ``{name: folder}`` of the datasets ready.

    A dataset fetched before from the same archive is used as it is; when the server
    cannot be reached, the datasets fetched before are used and the rest reported.
    """
    dest = Path(dest) if dest else settings.cache_dir() / "datasets"
    dest.mkdir(parents=True, exist_ok=True)
    saved_index = dest / ".pack.json"
    try:
        index = _read_index(base, timeout)
    except ServerUnreachableError as e:
        if not saved_index.exists():
            raise
        index = json.loads(saved_index.read_text())
        print(f"note: {e}; using the datasets fetched before from that pack")
        base = None
    wanted = names or sorted(index["datasets"])
    unknown = sorted(set(wanted) - set(index["datasets"]))
    if unknown:
        raise PackError(f"the pack has no {', '.join(unknown)}; it has "
                        f"{', '.join(sorted(index['datasets']))}")
    ready, problems = {}, []
    for name in wanted:
        entry = index["datasets"][name]
        folder, marker = dest / name, dest / name / f".from-pack-{entry['sha256'][:16]}"
        if marker.exists():
            ready[name] = folder
            continue
        if folder.exists():
            problems.append(f"{name}: {folder} exists and did not come from this pack; it "
                            "was left as it is (move it away to fetch the pack's copy)")
            continue
        if base is None:
            problems.append(f"{name}: not fetched yet, and the server cannot be reached")
            continue
        try:
            ready[name] = _fetch_one(base, name, entry, dest, timeout)
        except (PackError, ValueError) as e:   # ValueError: unsafe or damaged archive
            problems.append(str(e))
    if base is not None:
        settings.atomic_write_text(saved_index, json.dumps(index, indent=1, sort_keys=True))
    if problems:
        raise PackError("\n".join(problems) + (f"\n{len(ready)} of {len(wanted)} datasets "
                                               f"are ready in {dest}" if ready else ""))
    return ready


def _fetch_one(base: str, name: str, entry: dict, dest: Path, timeout: float) -> Path:
    url = _url(base, entry["file"])
    with tempfile.TemporaryDirectory(dir=dest, prefix=f".fetching-{name}-") as tmp:
        part = Path(tmp) / f"{entry['file']}.part"
        _download(url, part, entry.get("bytes"), timeout)
        digest = settings.file_hash(part)
        if digest != entry["sha256"]:
            kept = dest / f"{entry['file']}.checksum-mismatch"
            os.replace(part, kept)
            raise PackError(f"{url}: checksum mismatch (sha256 {digest}, the pack says "
                            f"{entry['sha256']}); nothing was extracted; the download is kept "
                            f"as {kept} for inspection (delete it once you are done)")
        staging = Path(tmp) / "extracted"
        safe_extract(part, staging)
        members = [p.name for p in staging.iterdir()]
        if members != [name]:
            raise PackError(f"{url}: the archive should hold one folder {name}/, not "
                            f"{', '.join(sorted(members)) or 'nothing'}; nothing was extracted")
        settings.atomic_write_text(staging / name / f".from-pack-{entry['sha256'][:16]}",
                                   url + "\n")
        os.replace(staging / name, dest / name)
    print(f"{name} is ready in {dest / name}")
    return dest / name

