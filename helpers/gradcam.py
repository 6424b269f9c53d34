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
import tensorflow as tf


def gradcam(feature_maps, score_fn, class_index=None) -> np.ndarray:
    """The Grad-CAM heat map (h, w), in 0..1, of ``feature_maps`` (1, h, w, c) for
    ``score_fn`` (feature maps -> class probabilities). ``class_index`` defaults to
    the predicted class."""
    maps = tf.convert_to_tensor(feature_maps, tf.float32)
    with tf.GradientTape() as tape:
        tape.watch(maps)
        probs = score_fn(maps)
        if class_index is None:
            class_index = int(tf.argmax(probs[0]))
        # the log of the probability: its gradient does not vanish when p is near 1
        score = tf.math.log(probs[0, class_index] + 1e-7)
    grads = tape.gradient(score, maps)[0]
    weights = tf.reduce_mean(grads, axis=(0, 1))
    cam = tf.nn.relu(tf.reduce_sum(maps[0] * weights, axis=-1)).numpy()
    top = cam.max()
    return cam / top if top > 0 else cam


def heatmap(bottom, score_fn, image, class_index=None) -> np.ndarray:
    """Grad-CAM of a classifier split in two: ``bottom`` (image -> feature maps at a
    cut, e.g. from :func:`helpers.transfer.split_backbone`) and ``score_fn``
    (feature maps -> class probabilities), upsampled to the image's size.
    ``image`` is one float RGB image in 0..255 at the bottom's input size."""
    size = bottom.input_shape[1]
    maps = bottom(np.asarray(image, np.float32)[None], training=False)
    cam = gradcam(maps, score_fn, class_index)
    return tf.image.resize(cam[..., None], (size, size), method="bilinear").numpy()[..., 0]


def overlay(image, cam, alpha=0.45) -> np.ndarray:
    """``image`` (0..255) with the heat map ``cam`` (0..1) over it in a 'jet'
    colour map, as uint8 RGB, for plotting."""
    import matplotlib

    colours = matplotlib.colormaps["jet"](np.clip(cam, 0, 1))[..., :3] * 255.0
    image = np.asarray(image, np.float32)
    if image.ndim == 2 or image.shape[-1] == 1:
        image = np.repeat(image.reshape(image.shape[0], image.shape[1], 1), 3, axis=-1)
    return np.clip((1 - alpha) * image + alpha * colours, 0, 255).astype(np.uint8)
