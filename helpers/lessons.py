"""The setups that several notebooks share, one call each, so they cannot drift
apart: the profile, the cats-and-dogs photos with their split, and an ImageNet
classifier with its target classes.
"""

from __future__ import annotations

import collections
import dataclasses
from pathlib import Path

import numpy as np

from helpers import folders, settings, sources

def resolve_profile(requested: str | None = None, full_data: str | None = None) -> str:
    """Turn the requested profile (default ``$TL_PROFILE``) into ``"full"`` or ``"ci"``.
    Every notebook and the lab call this in their parameters' cell.

    ``"auto"`` becomes ``"full"`` when ``full_data`` (a dataset name; None: the
    notebook needs no dataset) is staged here or can be downloaded, and
    ``"ci"`` otherwise, saying so.
    """
    requested = (requested or settings.profile()).lower()
    if requested not in settings.PROFILES:
        raise ValueError(f"unknown profile {requested!r}: use one of "
                         f"{', '.join(settings.PROFILES)}")
    if requested != "auto":
        return requested
    if full_data is None or sources.available(full_data):
        return "full"
    if sources.dataset_info(full_data).remotes and sources.online():
        return "full"
    print(f"'{full_data}' is not staged here and cannot be downloaded: using the small "
          "'ci' profile (set TL_PROFILE=full to insist on the full data)")
    return "ci"


@dataclasses.dataclass
class Photos:
    """A labelled photo collection split three ways (absolute file paths)."""
    dataset: str
    image_dir: Path
    split: folders.Split

    @property
    def class_names(self) -> list[str]:
        return self.split.classes

    def part(self, name) -> tuple[list[str], np.ndarray]:
        """(files, integer labels) of ``"train"``, ``"val"`` or ``"test"``."""
        return self.split.part(name)

    def describe(self) -> str:
        counts = dict(sorted(collections.Counter(self.split.labels.values()).items()))
        return (f"{self.dataset}: classes {self.class_names}, photos per class {counts}\n"
                f"{self.split.sizes()}")


def cats_and_dogs(profile: str, seed=42, val=0.15) -> Photos:
    """The cats-vs-dogs photos of notebooks 01, 02 and 04, split the same way each time.

    ``"ci"``: ``cats_and_dogs_filtered`` (3,000 photos, the TensorFlow tutorial's
    archive) with its own split: ``train/`` for training, ``val`` of it held out
    (stratified, seeded) for validation, and the 1,000 ``validation/`` photos as
    the test set. ``"full"``: the 25,000 Microsoft photos, split 65/15/20.
    """
    if profile == "full":
        image_dir = sources.find_dataset("cats_vs_dogs", download_if_missing=True)
        report = folders.load_folder(image_dir, labels="species")
        split = folders.make_split(report, val=val, test=0.2, seed=seed)
        return Photos("cats_vs_dogs", image_dir, split)
    if profile != "ci":
        raise ValueError(f"profile must be 'full' or 'ci' here, not {profile!r} "
                         "(resolve 'auto' with resolve_profile first)")
    image_dir = sources.find_dataset("cats_and_dogs_filtered", download_if_missing=True)
    return Photos("cats_and_dogs_filtered", image_dir,
                  folders.presplit(image_dir, val=val, seed=seed))


def imagenet_classifier(backbone: str, *class_names: str):
    """A backbone with its ImageNet top, and the indices of ``class_names``
    (``"tabby"`` -> 281). Notebooks 03 and 04."""
    from helpers.backbones import get_backbone
    from helpers.labels import find_class

    model = get_backbone(backbone, include_top=True)
    return model, [find_class(name) for name in class_names]
