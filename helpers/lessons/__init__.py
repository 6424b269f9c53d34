"""The lessons' code: what the notebooks teach, in the modules of this package.

Every ``#@save helpers.<module>`` cell of a notebook is written into its module by
``python -m helpers save`` (``tests/test_one_source.py`` checks it is current):
``train`` (01, 02), ``gradients``, ``optimize``, ``natural`` (03, 04),
``three_ways``, ``gradcam`` (05); beside them ``metrics``, ``plots``, the self-checks
(``quiz``, ``selfcheck``, ``quizzes/``), ``own_photos`` (``python -m helpers train``),
the translations (``translate``, ``phrases``) and the Colab setup (``hosted``).

This file holds the setups that several notebooks share, one call each, so they
cannot drift apart: the profile, the cats-and-dogs photos with their split, and an
ImageNet classifier with its target classes.
"""

from __future__ import annotations

import collections
import dataclasses
from pathlib import Path

import numpy as np

from helpers import settings
from helpers.data import folders, sources

def resolve_profile(requested: str | None = None, full_data: str | None = None,
                    full_cost: str | None = None) -> str:
    """The profile a notebook runs (``"quick"`` or ``"full"``), from ``requested``
    (default ``$TL_PROFILE``). Every notebook and the lab call this in their
    parameters' cell.

    ``quick`` (the default) runs in minutes on a laptop from the photos that
    ship with the course. ``full`` is opt-in: before anything starts it says
    what ``full_data`` (a dataset name) will download and ``full_cost``, roughly
    how long the notebook then takes.
    """
    requested = settings.profile(requested)
    if requested == "full":
        plan = []
        if full_data is not None and not sources.available(full_data):
            info = sources.dataset_info(full_data)
            plan.append(f"downloads {full_data} ({info.download_mb:,} MB, about "
                        f"{max(1, round(info.download_mb / 600))} min at 10 MB/s) once, "
                        "into the course cache")
        if full_cost:
            plan.append(f"then takes {full_cost}")
        if plan:
            print("full profile: this notebook " + ", ".join(plan) +
                  ". Set TL_PROFILE=quick for the minutes-long version.")
    return requested


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

    ``"quick"``: ``cats_and_dogs_filtered`` (3,000 photos, the TensorFlow tutorial's
    archive) with its own split: ``train/`` for training, ``val`` of it held out
    (stratified, seeded) for validation, and the 1,000 ``validation/`` photos as
    the test set. ``"full"``: the 25,000 Microsoft photos, split 65/15/20.
    """
    if profile == "full":
        image_dir = sources.find_dataset("cats_vs_dogs", download_if_missing=True)
        report = folders.load_folder(image_dir, labels="species")
        split = folders.make_split(report, val=val, test=0.2, seed=seed)
        return Photos("cats_vs_dogs", image_dir, split)
    if profile != "quick":
        raise ValueError(f"profile must be 'full' or 'quick' here, not {profile!r} "
                         "(resolve it with resolve_profile first)")
    image_dir = sources.find_dataset("cats_and_dogs_filtered", download_if_missing=True)
    return Photos("cats_and_dogs_filtered", image_dir,
                  folders.presplit(image_dir, val=val, seed=seed))


def imagenet_classifier(backbone: str, *class_names: str):
    """A backbone with its ImageNet top, and the indices of ``class_names``
    (``"tabby"`` -> 281). Notebooks 03 and 04."""
    from helpers.models.backbones import get_backbone
    from helpers.models.labels import find_class

    model = get_backbone(backbone, include_top=True)
    model.trainable = False  # frozen: a gradient flows to the image, not to the weights
    return model, [find_class(name) for name in class_names]
