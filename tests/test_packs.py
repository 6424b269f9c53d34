"""An instructor's data pack, served from 127.0.0.1 (``http.server``): written by
``data pack``, fetched by ``data fetch --all --from URL``, and every kind of bad
input refused with a message, nothing half-written."""

import functools
import http.server
import io
import json
import tarfile
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from helpers import settings
from helpers.data import arrays, sources
from helpers.cli import main


def _staged(root: Path) -> Path:
    """A tiny staged data folder: two image datasets of the course's layouts."""
    rng = np.random.default_rng(0)
    for part in ("train", "test"):
        for cls in ("NORMAL", "PNEUMONIA"):
            folder = root / "chest_xray" / part / cls
            folder.mkdir(parents=True)
            for i in range(3):  # originals of several sizes, as Kermany's archive has
                size = (300 + 40 * i, 260 + 10 * i)
                Image.fromarray(rng.integers(0, 255, size[::-1], np.uint8)).save(
                    folder / f"person{i}_bacteria_{cls}{i}.jpeg")
    extra = root / "toy"
    extra.mkdir()
    (extra / "ATTRIBUTION.md").write_text("made by the test\n")
    return root


class _Handler(http.server.SimpleHTTPRequestHandler):
    cut = set()      # file names sent only in part, then the connection closes

    def log_message(self, *args):
        pass

    def do_GET(self):
        name = self.path.rsplit("/", 1)[-1]
        if name in self.cut:
            data = (Path(self.directory) / name).read_bytes()
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data[: len(data) // 3])
            self.wfile.flush()
            self.close_connection = True
            return
        super().do_GET()


@pytest.fixture(autouse=True)
def _own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TL_CACHE_DIR", str(tmp_path / "cache"))


@pytest.fixture
def serve():
    servers = []

    def start(folder, cut=()):
        handler = functools.partial(type("H", (_Handler,), {"cut": set(cut)}),
                                    directory=str(folder))
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return server, f"http://127.0.0.1:{server.server_address[1]}/pack/"

    yield start
    for s in servers:
        s.shutdown()
        s.server_close()


@pytest.fixture
def pack(tmp_path):
    staged = _staged(tmp_path / "staged")
    www = tmp_path / "www"
    code = main(["data", "pack", str(www / "pack"), "--data-dir", str(staged)])
    assert code == 0
    return www


def test_pack_lists_every_dataset_with_its_sha256(pack):
    index = json.loads((pack / "pack" / "pack.json").read_text())
    assert sorted(index["datasets"]) == ["chest_xray", "toy"]
    for entry in index["datasets"].values():
        archive = pack / "pack" / entry["file"]
        assert entry["sha256"] == settings.file_hash(archive)
        assert entry["bytes"] == archive.stat().st_size
    sums = (pack / "pack" / "SHA256SUMS").read_text().split()
    assert index["datasets"]["toy"]["sha256"] in sums


def test_fetch_all_then_loaders_find_it_and_a_rerun_needs_no_server(pack, serve, tmp_path,
                                                                    monkeypatch, capsys):
    monkeypatch.delenv("TL_DATA_DIR", raising=False)
    cache = Path(settings.cache_dir())
    server, url = serve(pack)
    assert main(["data", "fetch", "--all", "--from", url]) == 0
    assert (cache / "datasets" / "toy" / "ATTRIBUTION.md").read_text() == "made by the test\n"
    assert sources.staged_folder("chest_xray") == cache / "datasets" / "chest_xray"
    # the X-rays of several sizes are squashed to the course's size by the reader
    data = arrays.load("chest_xray", "test")
    assert data.x.shape == (6, arrays.XRAY_SIZE, arrays.XRAY_SIZE, 1)
    assert len(set(data.groups)) == 3
    server.shutdown()
    server.server_close()
    assert main(["data", "fetch", "--all", "--from", url]) == 0   # server gone: reused
    assert "using the datasets fetched before" in capsys.readouterr().out


def test_a_404_and_an_address_that_is_not_a_pack(pack, serve, tmp_path, capsys):
    _, url = serve(pack)
    assert main(["data", "fetch", "--all", "--from", url.replace("/pack/", "/nothing/")]) == 1
    assert "HTTP 404" in capsys.readouterr().err
    (pack / "notapack").mkdir()
    (pack / "notapack" / "pack.json").write_text("<html>a web page</html>")
    assert main(["data", "fetch", "--all", "--from", url.replace("/pack/", "/notapack/")]) == 1
    assert "not a course data pack" in capsys.readouterr().err
    assert not (Path(settings.cache_dir()) / "datasets" / "toy").exists()


def test_a_changed_archive_is_kept_aside_and_nothing_is_extracted(pack, serve, capsys):
    archive = pack / "pack" / "toy.tar"
    archive.write_bytes(archive.read_bytes()[:-1] + b"x")
    _, url = serve(pack)
    assert main(["data", "fetch", "toy", "--from", url]) == 1
    assert "checksum mismatch" in capsys.readouterr().err
    datasets = Path(settings.cache_dir()) / "datasets"
    assert (datasets / "toy.tar.checksum-mismatch").exists()
    assert not (datasets / "toy").exists()


def test_a_member_escaping_its_folder_is_refused(pack, serve, capsys):
    bad = io.BytesIO()
    with tarfile.open(fileobj=bad, mode="w") as tar:
        info = tarfile.TarInfo("toy/../../escaped.txt")
        info.size = 3
        tar.addfile(info, io.BytesIO(b"bad"))
    (pack / "pack" / "toy.tar").write_bytes(bad.getvalue())
    index_path = pack / "pack" / "pack.json"
    index = json.loads(index_path.read_text())
    index["datasets"]["toy"].update(sha256=settings.file_hash(pack / "pack" / "toy.tar"),
                                    bytes=len(bad.getvalue()))
    index_path.write_text(json.dumps(index))
    _, url = serve(pack)
    assert main(["data", "fetch", "toy", "--from", url]) == 1
    assert "outside the target folder" in capsys.readouterr().err
    datasets = Path(settings.cache_dir()) / "datasets"
    assert not (datasets / "toy").exists()
    assert not list(Path(settings.cache_dir()).parent.rglob("escaped.txt"))


def test_a_server_that_stops_mid_download_leaves_nothing(pack, serve, capsys):
    _, url = serve(pack, cut={"chest_xray.tar"})
    assert main(["data", "fetch", "--all", "--from", url]) == 1
    err = capsys.readouterr().err
    assert "broke off" in err and "1 of 2 datasets are ready" in err
    datasets = Path(settings.cache_dir()) / "datasets"
    assert (datasets / "toy").is_dir()
    assert not (datasets / "chest_xray").exists()
    assert not [p for p in datasets.iterdir() if p.name.startswith(".fetching")]


def test_pack_without_staged_data_says_how(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("TL_DATA_DIR", raising=False)
    assert main(["data", "pack", str(tmp_path / "out")]) == 1
    assert "set TL_DATA_DIR" in capsys.readouterr().err


def test_repository_materials_are_found_without_tl_data_dir(monkeypatch):
    monkeypatch.delenv("TL_DATA_DIR", raising=False)
    assert sources.find_dataset("pets-mini") == sources.MATERIALS / "pets-mini"
    assert sources.sample_photo("dog") == sources.MATERIALS / "samples" / "dog.jpg"
    sums = (sources.MATERIALS / "samples" / "SHA256SUMS").read_text().split()
    assert settings.file_hash(sources.sample_photo("cat")) in sums
    assert len(list((sources.MATERIALS / "pets-mini").glob("*.jpg"))) == 365
