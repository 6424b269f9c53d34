"""Grad-CAM: where in the image does the network look for a class?

Introduced in notebook 05 (chest X-rays: the lungs, or the markers and
borders?) and used on notebook 01's mistakes. Selvaraju et al., "Grad-CAM:
Visual Explanations from Deep Networks via Gradient-based Localization",
ICCV 2017: the gradient of the class score with respect to a convolutional
layer's feature maps, averaged over space, weighs each map; the weighted sum,
kept where positive, is the heat map.
"""

from __future__ import annotations

import numpy as np
from keras import ops

from helpers.lessons.gradients import input_gradient


def class_score(score_fn, maps, class_index):
    """The log-probability of ``class_index`` that ``score_fn`` (feature maps ->
    class probabilities) gives ``maps``: the score Grad-CAM differentiates (its
    gradient does not vanish when p is near 1). Returns ``(score, probs)``. The
    same on every backend. Notebook 05."""
    probs = score_fn(maps)
    return ops.log(probs[0, class_index] + 1e-7), probs


def gradcam(feature_maps, score_fn, class_index=None) -> np.ndarray:
    """The Grad-CAM heat map (h, w), in 0..1, of ``feature_maps`` (1, h, w, c) for
    ``score_fn``. ``class_index`` defaults to the predicted class. The gradient
    comes from notebook 03's ``input_gradient``, in this backend's idiom.
    Notebook 05."""
    maps = np.asarray(ops.convert_to_numpy(feature_maps), np.float32)
    if class_index is None:
        class_index = int(ops.convert_to_numpy(score_fn(maps))[0].argmax())
    grads, _, _ = input_gradient(class_score, score_fn)(maps, np.int32(class_index))
    weights = ops.convert_to_numpy(grads)[0].mean(axis=(0, 1))   # one weight per channel
    cam = np.maximum((maps[0] * weights).sum(axis=-1), 0)   # only what argues for the class
    top = cam.max()
    return cam / top if top > 0 else cam


def heatmap(bottom, score_fn, image, class_index=None) -> np.ndarray:
    """Grad-CAM of a classifier split in two: ``bottom`` (image -> feature maps at a
    cut, e.g. from :func:`helpers.lessons.three_ways.split_backbone`) and ``score_fn``
    (feature maps -> class probabilities), upsampled to the image's size.
    ``image`` is one float RGB image in 0..255 at the bottom's input size."""
    size = bottom.input_shape[1]
    maps = bottom(np.asarray(image, np.float32)[None], training=False)
    cam = gradcam(maps, score_fn, class_index)
    return ops.convert_to_numpy(ops.image.resize(cam[..., None], (size, size)))[..., 0]


def overlay(image, cam, alpha=0.45) -> np.ndarray:
    """``image`` (0..255) with the heat map ``cam`` (0..1) over it in a 'jet'
    colour map, as uint8 RGB, for plotting."""
    import matplotlib

    colours = matplotlib.colormaps["jet"](np.clip(cam, 0, 1))[..., :3] * 255.0
    image = np.asarray(image, np.float32)
    if image.ndim == 2 or image.shape[-1] == 1:
        image = np.repeat(image.reshape(image.shape[0], image.shape[1], 1), 3, axis=-1)
    return np.clip((1 - alpha) * image + alpha * colours, 0, 255).astype(np.uint8)
