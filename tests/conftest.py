"""Shared fixtures: the data folder (``TL_DATA_DIR``) and a cached backbone."""

import os
from pathlib import Path

import pytest


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
    from helpers.backbones import get_backbone

    return get_backbone("efficientnet_lite0", include_top=True)
