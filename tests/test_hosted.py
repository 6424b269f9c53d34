"""Colab and Kaggle: every notebook opens with the same setup cell and an "Open in
Colab" link to its own path; off Colab the cell does nothing but choose the backend."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from helpers.lessons import hosted

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9]*.ipynb")) + sorted((ROOT / "lab").glob("*.ipynb"))
LINK = re.compile(r"https://colab\.research\.google\.com/github/([^/]+/[^/]+)/blob/main/([^)\s\"]+)")


def test_every_notebook_opens_with_the_current_badge_and_setup_cell():
    assert hosted.main([]) == 0
    for path in NOTEBOOKS:
        cells = json.loads(path.read_text())["cells"]
        assert [c["id"] for c in cells[:2]] == ["colab", "setup"]
        assert not any("import keras" in "".join(c["source"]) for c in cells[:2])


def test_every_colab_link_points_at_its_own_file():
    owner_repo = hosted.repository().removeprefix("https://github.com/")
    files = [ROOT / "README.md", *NOTEBOOKS, *ROOT.glob("translations/*/notebooks/*.ipynb"),
             *ROOT.glob("translations/*/lab/*.ipynb"), *ROOT.glob("translations/*/README.md")]
    seen = 0
    for path in files:
        text = path.read_text()
        for repo, rel in LINK.findall(text):
            seen += 1
            assert repo == owner_repo, f"{path}: a link to {repo}"
            assert (ROOT / rel).is_file(), f"{path}: the link to {rel} names no file"
            if path.suffix == ".ipynb":
                assert ROOT / rel == path, f"{path}: its link points at {rel}"
    assert seen >= len(NOTEBOOKS) + 1     # each notebook's own, and the README's


def test_off_colab_the_setup_cell_only_sets_the_backend(tmp_path):
    code = hosted.setup_cell("04_adversarial_dog") + "\nprint(os.environ['KERAS_BACKEND'])"
    env = {k: v for k, v in os.environ.items()
           if k not in ("COLAB_RELEASE_TAG", "KAGGLE_KERNEL_RUN_TYPE", "KERAS_BACKEND")}
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout == "tensorflow\n"
    assert list(tmp_path.iterdir()) == []       # nothing cloned, nothing written
    env["KERAS_BACKEND"] = "jax"                # a backend chosen before is kept
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=60)
    assert out.stdout == "jax\n"
