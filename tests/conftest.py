"""Shared fixtures: the data folder (``TL_DATA_DIR``) and a cached backbone.

Every test runs with the course cache and the output folder in temporary
folders: the tests never write into a user's ``~/.keras/tl-course`` or into
the repository. The tests that run a notebook as a student does (the browser
test, the course runner on notebook 05) use :func:`shared_cache`, the cache the
notebooks under nbval use too (``conftest.py`` at the root), so that notebook 01's
features and notebook 05's activations are computed once per run.
"""

import os
from pathlib import Path

import pytest

from helpers.data import folders
from helpers.models import features
from helpers.lessons import train


@pytest.fixture(scope="session")
def _session_cache(tmp_path_factory):
    return tmp_path_factory.mktemp("tl-cache")


@pytest.fixture(scope="session")
def shared_cache(_session_cache):
    """The course cache this run shares with the notebooks under nbval: a temporary
    folder, or ``$TL_TEST_CACHE_DIR`` (``make test``: ``build/test-cache``)."""
    root = os.environ.get("TL_TEST_CACHE_DIR")
    return Path(root) if root else _session_cache


@pytest.fixture(autouse=True)
def _private_cache_and_output(_session_cache, tmp_path_factory, monkeypatch):
    monkeypatch.setenv("TL_CACHE_DIR", str(_session_cache))
    monkeypatch.setenv("TL_OUTPUT_DIR", str(tmp_path_factory.mktemp("output")))


def _data_root():
    root = os.environ.get("TL_DATA_DIR")
    return Path(root) if root else None


@pytest.fixture(scope="session")
def data_root():
    root = _data_root()
    if root is None or not root.is_dir():
        pytest.skip("TL_DATA_DIR is not set to the course data (e.g. ../shared/data)")
    return root


@pytest.fixture(scope="session")
def samples(data_root):
    folder = data_root / "samples"
    if not (folder / "cat.jpg").exists():
        pytest.skip(f"{folder} has no cat.jpg/dog.jpg")
    return folder


def _dataset(data_root, name):
    folder = data_root / name
    if not folder.is_dir():
        pytest.skip(f"{folder} is missing")
    return folder


@pytest.fixture(scope="session")
def pets_mini(data_root):
    return _dataset(data_root, "pets-mini")


@pytest.fixture(scope="session")
def cdf(data_root):
    """cats_and_dogs_filtered: the 3,000 photos of notebooks 01-02."""
    return _dataset(data_root, "cats_and_dogs_filtered")


@pytest.fixture(scope="session")
def classifier():
    """EfficientNet-Lite0 with its ImageNet top (converted once per session)."""
    from helpers.models.backbones import get_backbone

    return get_backbone("efficientnet_lite0", include_top=True)


@pytest.fixture(scope="session")
def breed_model(pets_mini, tmp_path_factory):
    """A real breed classifier: Lite0 features of pets-mini's training split + a head."""
    report = folders.check_folder(pets_mini, labels="breed")
    split = folders.make_split(report, seed=42)
    (tr, ytr), (va, yva) = split.part("train"), split.part("val")
    head, _, _ = train.train_head(features.cached_features("efficientnet_lite0", tr, progress=False), ytr,
                                  features.cached_features("efficientnet_lite0", va, progress=False), yva,
                                  37, epochs=100, dropout=0.5)
    model, _ = train.build_classifier(head)
    folder = tmp_path_factory.mktemp("submission")
    path = train.save_classifier(model, folder / "good.keras", split.classes)
    test_dir = folder / "hidden_test"
    test_dir.mkdir()
    for f in split.test:                 # links, not copies, of the held-out photos
        (test_dir / f.rsplit("/", 1)[-1]).symlink_to(f)
    return path, test_dir, split, model
