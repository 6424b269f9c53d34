"""The course on Colab's runtime (tests/colab-runtime.txt, Python 3.13): installed
as every notebook's setup cell installs it, it changes none of the runtime's
packages, `pip check` is clean, and notebooks 01 and 04 and the lab's solution run.

Marked ``colab``: `make test` runs it as one of its side jobs (Makefile,
``other-backends``). The runtime is built once into ``build/colab-runtime`` (or
``$TL_COLAB_VENV``) from PyPI's CPU wheels, about 1 GB.
"""

import functools
import glob
import http.server
import json
import threading
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from helpers import settings
from helpers.data import packs
from helpers.lessons import hosted

ROOT = Path(__file__).resolve().parents[1]
PINS = ROOT / "tests" / "colab-runtime.txt"
pytestmark = pytest.mark.colab


def _python313():
    candidates = sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.13*/bin/python3.13")))
    found = next((c for c in candidates + [shutil.which("python3.13")] if c and subprocess.run(
        [c, "--version"], capture_output=True).returncode == 0), None)
    if found is None:
        pytest.skip("no Python 3.13 here (Colab's); install it (pyenv install 3.13)")
    return found


@pytest.fixture(scope="module")
def runtime():
    venv = Path(os.environ.get("TL_COLAB_VENV") or ROOT / "build" / "colab-runtime")
    python = venv / "bin" / "python"
    stamp = venv / ".pins"
    if not (python.exists() and stamp.exists() and stamp.read_text() == PINS.read_text()):
        subprocess.run([_python313(), "-m", "venv", "--clear", str(venv)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "-r", str(PINS)], check=True)
        stamp.write_text(PINS.read_text())
    return python


def _versions(python) -> dict[str, str]:
    out = subprocess.run([str(python), "-m", "pip", "list", "--format", "json"],
                         capture_output=True, text=True, check=True).stdout
    return {p["name"].lower(): p["version"] for p in json.loads(out)}


def _colab_env(home) -> dict[str, str]:
    """A kernel's environment on Colab: none of this machine's course settings."""
    keep = ("PATH", "LANG", "LC_ALL", "PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_FIND_LINKS",
            "PIP_CONFIG_FILE", "SSL_CERT_FILE", "OMP_NUM_THREADS", "TF_NUM_INTRAOP_THREADS",
            "TF_NUM_INTEROP_THREADS")
    env = {k: os.environ[k] for k in keep if k in os.environ}
    env.update(HOME=str(home), COLAB_RELEASE_TAG="test", TL_COURSE_REPO=ROOT.as_uri(),
               TF_CPP_MIN_LOG_LEVEL="2")
    return env


@pytest.fixture
def pack_url(tmp_path):
    """An instructor's pack of notebooks 01 and 04's photos, served from 127.0.0.1."""
    if settings.data_dir() is None or not (settings.data_dir() / "cats_and_dogs_filtered").is_dir():
        pytest.skip("TL_DATA_DIR has no cats_and_dogs_filtered to pack")
    packs.write_pack(tmp_path / "www" / "pack", names=["cats_and_dogs_filtered"])
    handler = functools.partial(http.server.SimpleHTTPRequestHandler,
                                directory=str(tmp_path / "www"))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/pack/"
    server.shutdown()
    server.server_close()


def test_the_course_installs_on_colab_and_runs_01_04_and_the_lab(runtime, pack_url, tmp_path):
    content = tmp_path / "content"     # Colab's working folder
    content.mkdir()
    env = {**_colab_env(tmp_path / "home"), "TL_PACK_URL": pack_url}
    before = _versions(runtime)
    setup = hosted.setup_cell("04_adversarial_dog")
    for _ in range(2):                 # run twice: the second changes nothing
        out = subprocess.run([str(runtime), "-c", setup], cwd=content, env=env,
                             capture_output=True, text=True, timeout=900)
        assert out.returncode == 0, out.stderr[-3000:]
        assert "the course is ready" in out.stdout
        after = _versions(runtime)
        changed = {k: (before[k], after.get(k)) for k in before if after.get(k) != before[k]}
        assert not changed, f"the setup cell changed the runtime: {changed}"
    check = subprocess.run([str(runtime), "-m", "pip", "check"], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout
    assert (content / "tl-course" / "data" / "pets-mini").is_dir()
    run = ("import sys\nfrom helpers.course.runner import execute, _summary\n"
           "nb, error = execute(sys.argv[1], cwd=sys.argv[2])\n"
           "print('ok' if error is None else _summary(error))\n")
    for notebook in ("notebooks/04_adversarial_dog.ipynb", "notebooks/01_feature_extraction.ipynb",
                     "lab/solution.ipynb"):
        out = subprocess.run([str(runtime), "-c", run, str(content / "tl-course" / notebook),
                              str(content)], cwd=content, env={**env, "TL_PROFILE": "quick"},
                             capture_output=True, text=True, timeout=1800)
        assert out.stdout.strip().endswith("ok"), f"{notebook}: {out.stdout[-3000:]}{out.stderr[-3000:]}"
