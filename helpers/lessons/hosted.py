"""The course on Colab and Kaggle: every notebook's setup cell, its data, its link.

Every notebook (the translations too) opens with the same setup cell,
:data:`SETUP_CELL`, written into the notebooks by ``python -m helpers hosted
--write`` and checked by ``tests/test_hosted.py``. On Colab or Kaggle it clones
the course (the address in ``pyproject.toml``'s ``[project.urls]``, or
``$TL_COURSE_REPO``), installs it with pip beside the runtime's packages (the
ranges in ``pyproject.toml`` hold Colab's tensorflow, keras and numpy, so pip
changes none of them), sets ``KERAS_BACKEND`` before anything imports Keras,
and fetches what that notebook needs (:func:`prepare`). Elsewhere it only sets
``KERAS_BACKEND`` when it is unset. Run twice, it changes nothing.
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_REPOSITORY = "https://github.com/tl-course/keras-transfer-learning"

# The datasets each notebook reads beyond the course's own materials (pets-mini and
# samples are in the clone). Those of the registry (helpers.data.sources) are downloaded;
# notebook 05's domains come from keras.datasets on first use (helpers.data.arrays), and
# any of them from an instructor's pack when TL_PACK_URL is set.
NOTEBOOK_DATA = {
    "01_feature_extraction": ("cats_and_dogs_filtered",),
    "02_fine_tuning": ("cats_and_dogs_filtered",),
    "04_adversarial_dog": ("cats_and_dogs_filtered",),
    "05_very_different_images": ("mnist", "fashion_mnist", "cifar10", "cats_and_dogs_filtered"),
    "06_xrays_and_gradcam": ("chest_xray", "cats_and_dogs_filtered"),
}

SETUP_TEMPLATE = '''\
# Setup: on Colab or Kaggle, get the course and this notebook's data (a minute or two,
# once); elsewhere nothing to do. Choose the backend here, before Keras is imported.
import os, subprocess, sys

os.environ.setdefault("KERAS_BACKEND", "tensorflow")  # or "jax", "torch"
if "google.colab" in sys.modules or {{"COLAB_RELEASE_TAG", "KAGGLE_KERNEL_RUN_TYPE"}} & set(os.environ):
    course = os.path.abspath("tl-course")
    if not os.path.isdir(course):
        repo = os.environ.get("TL_COURSE_REPO", "{repository}")
        subprocess.run(["git", "clone", "-q", "--depth=1", repo, course], check=True)
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "-e", course], check=True)
    sys.path[:0] = [] if course in sys.path else [course]
    from helpers.lessons import hosted
    hosted.prepare("{notebook}")'''


def repository() -> str:
    """The course's public repository, from ``pyproject.toml`` (written there once)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return project.get("urls", {}).get("Repository", DEFAULT_REPOSITORY)


def setup_cell(notebook: str) -> str:
    """The setup cell's code for ``notebook`` (its stem, e.g. ``04_adversarial_dog``)."""
    return SETUP_TEMPLATE.format(repository=repository(), notebook=notebook)


def colab_link(path, root=ROOT) -> str:
    """The "Open in Colab" address of a notebook, from its path in the repository."""
    rel = Path(path).resolve().relative_to(Path(root).resolve()).as_posix()
    owner_repo = re.sub(r"^https://github\.com/", "", repository()).rstrip("/")
    return f"https://colab.research.google.com/github/{owner_repo}/blob/main/{rel}"


def colab_badge(path, root=ROOT) -> str:
    return (f"[![Open in Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
            f"({colab_link(path, root)})")


def is_hosted() -> bool:
    """Whether this kernel runs on Colab or Kaggle."""
    import sys

    return ("google.colab" in sys.modules or "COLAB_RELEASE_TAG" in os.environ
            or "KAGGLE_KERNEL_RUN_TYPE" in os.environ)


def prepare(notebook: str) -> list[str]:
    """Fetch what ``notebook`` needs, once: from the pack at ``$TL_PACK_URL`` when it is
    set (an instructor's mirror), else from the public sources. Returns what is ready."""
    from helpers.data import sources

    names = NOTEBOOK_DATA.get(notebook, ())
    ready = []
    if os.environ.get("TL_PACK_URL") and names:
        from helpers.data.packs import PackError, fetch_pack, pack_names

        try:
            wanted = [n for n in names if n in pack_names(os.environ["TL_PACK_URL"])]
            ready += sorted(fetch_pack(os.environ["TL_PACK_URL"], names=wanted))
        except PackError as e:
            print(f"note: the pack at TL_PACK_URL could not be fetched whole:\n{e}")
    for name in names:
        if name in sources.DATASETS and name not in ready:
            sources.find_dataset(name, download_if_missing=True)
            ready.append(name)
    print(f"the course is ready ({', '.join(ready) or 'no download needed'}); "
          f"backend: {os.environ.get('KERAS_BACKEND')}")
    return ready


# ----------------------------------------------------------- the notebooks

def _stem(path: Path) -> str:
    return path.stem if path.parent.name == "notebooks" else f"lab/{path.stem}"


def write_setup_cells(paths) -> list[Path]:
    """Open each notebook with the "Open in Colab" badge (a markdown cell ``colab``) and
    the setup cell (a code cell ``setup``), both left out of the slides; returns the
    notebooks that changed."""
    skip = {"slideshow": {"slide_type": "skip"}}
    changed = []
    for path in map(Path, paths):
        nb = json.loads(path.read_text())
        cells = [c for c in nb["cells"] if c.get("id") not in ("colab", "setup")]
        nb["cells"] = [
            {"cell_type": "markdown", "id": "colab", "metadata": dict(skip),
             "source": colab_badge(path).splitlines(keepends=True)},
            {"cell_type": "code", "execution_count": None, "id": "setup",
             "metadata": dict(skip), "outputs": [],
             "source": setup_cell(_stem(path)).splitlines(keepends=True)},
        ] + cells
        text = json.dumps(nb, indent=1, ensure_ascii=False) + "\n"
        if text != path.read_text():
            path.write_text(text)
            changed.append(path)
    return changed


def main(argv=None) -> int:
    """``python -m helpers hosted [--write]``: check (or write) every notebook's badge
    and setup cell."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m helpers hosted", description=main.__doc__)
    parser.add_argument("--write", action="store_true", help="write them (default: check)")
    args = parser.parse_args(argv)
    paths = sorted((ROOT / "notebooks").glob("[0-9]*.ipynb")) + sorted(
        (ROOT / "lab").glob("*.ipynb"))
    if args.write:
        for path in write_setup_cells(paths):
            print(f"wrote {path.relative_to(ROOT)}")
        return 0
    stale = [p for p in paths if _cells(p) != (colab_badge(p), setup_cell(_stem(p)))]
    for path in stale:
        print(f"{path.relative_to(ROOT)}: its badge or setup cell is not current; run "
              "python -m helpers hosted --write")
    return 1 if stale else 0


def _cells(path) -> tuple[str, str]:
    cells = {c.get("id"): "".join(c["source"]) for c in json.loads(Path(path).read_text())["cells"][:2]}
    return cells.get("colab", ""), cells.get("setup", "")
