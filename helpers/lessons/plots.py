"""Figures used across the notebooks (matplotlib only).

Introduced in notebook 01 unless a function says otherwise.
"""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np


def show_images(images, titles=None, ncols=6, size=2.2, stretch=None):
    """A grid of RGB images in 0..255. ``stretch`` = (low, high) percentiles for a
    contrast stretch (notebook 03 states it under each figure)."""
    images = list(images)
    nrows = max(1, math.ceil(len(images) / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for i, img in enumerate(images):
        img = np.asarray(img, dtype=np.float32)
        if stretch is not None:
            lo, hi = np.percentile(img, stretch)
            img = (img - lo) / max(hi - lo, 1e-6) * 255.0
        ax = axes.flat[i]
        ax.imshow(np.clip(img, 0, 255).astype(np.uint8))
        if titles is not None:
            ax.set_title(titles[i], fontsize=9)
    fig.tight_layout()
    return fig


def show_feature_maps(model, image, layer_names, channels=6, size=1.8):
    """The first ``channels`` feature maps of ``image`` at each named layer."""
    import keras

    probe = keras.Model(model.input, [model.get_layer(n).output for n in layer_names])
    maps = probe(np.asarray(image, np.float32)[None], training=False)
    if len(layer_names) == 1:
        maps = [maps]
    fig, axes = plt.subplots(len(layer_names), channels + 1,
                             figsize=(size * (channels + 1), size * len(layer_names)),
                             squeeze=False)
    for row, (name, fmap) in enumerate(zip(layer_names, maps)):
        fmap = keras.ops.convert_to_numpy(fmap)[0]
        axes[row, 0].imshow(np.clip(image, 0, 255).astype(np.uint8))
        axes[row, 0].set_title(f"{name}\n{fmap.shape[0]}x{fmap.shape[1]}x{fmap.shape[2]}",
                               fontsize=8)
        order = np.argsort(fmap.reshape(-1, fmap.shape[-1]).var(axis=0))[::-1]
        for col in range(channels):
            axes[row, col + 1].imshow(fmap[..., order[col]], cmap="viridis")
        for ax in axes[row]:
            ax.axis("off")
    fig.tight_layout()
    return fig


def plot_history(*histories, labels=None, switch=None, metric="accuracy"):
    """Loss and ``metric`` curves, train and validation, for one or more phases
    drawn one after another; ``switch`` marks where fine-tuning began (notebook 02)."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.6))
    offset = 0
    for i, hist in enumerate(histories):
        hist = hist.history if hasattr(hist, "history") else hist
        epochs = np.arange(1, len(hist["loss"]) + 1) + offset
        tag = f" ({labels[i]})" if labels else ""
        for ax, key in zip(axes, ("loss", metric)):
            ax.plot(epochs, hist[key], "-", label=f"train{tag}")
            ax.plot(epochs, hist[f"val_{key}"], "--", label=f"validation{tag}")
        offset += len(hist["loss"])
    for ax, key in zip(axes, ("loss", metric)):
        if switch is not None:
            ax.axvline(switch + 0.5, color="gray", linestyle=":", label="fine-tuning starts")
        ax.set_xlabel("epoch")
        ax.set_ylabel(key)
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_confusion(y_true, y_pred, class_names, normalize=None, size=None):
    """A confusion matrix (scikit-learn's display)."""
    from sklearn.metrics import ConfusionMatrixDisplay

    n = len(class_names)
    size = size or max(4, 0.32 * n)
    fig, ax = plt.subplots(figsize=(size, size))
    ConfusionMatrixDisplay.from_predictions(
        y_true, y_pred, labels=list(range(n)), display_labels=class_names,
        normalize=normalize, ax=ax, colorbar=False, include_values=n <= 12,
        xticks_rotation="vertical")
    fig.tight_layout()
    return fig
