"""Drawing in the statistics of natural photos: the ideal cat that other networks
see (notebook 03, section 5; issue #26).

Notebook 03 first trains the *pixels*. Any pixel pattern is then as easy to
reach as any other, and the optimiser finds fine textures that one network
over-reacts to. Here the image is drawn through a parametrisation with the
statistics of photos built in (Olah et al., "Feature Visualization", Distill
2017):

* its **spectrum**: the image is the inverse Fourier transform of trainable
  coefficients, each scaled by 1/f, so a step of the same size moves coarse
  patterns far more than fine ones, as in photos, whose power falls with
  frequency;
* its **colours**: the three channels are mixed through ImageNet's principal
  colour axes, so colours vary together as they do in photos;
* a sigmoid keeps every pixel in 0..255 (no clipping).

At every step the network sees a random view of the image: a crop of 10 to 100%
of it, resized back, shifted, maybe flipped, its colours scaled, so only what is a
cat from every view and under every light survives.

The functions below are notebook 03's ``#@save`` cells word for word
(tests/test_one_source.py fails when they differ); ``python -m helpers dream``
reuses them. ``benchmarks/ideal_cat_levers.py`` measured the choice.
"""

from __future__ import annotations

import time

import keras
import numpy as np
import tensorflow as tf

from helpers.optimize import OptimizeResult


# Notebook 03's cells, word for word.

def spectrum_image(spectrum):
    """The pixels (batch, size, size, 3), in 0..255, of trainable Fourier
    coefficients ``spectrum`` (2, batch, 3, size, size // 2 + 1): real and
    imaginary parts, scaled by 1/f, mixed through ImageNet's colour axes.
    Notebook 03."""
    size = spectrum.shape[3]
    fy, fx = np.fft.fftfreq(size)[:, None], np.fft.rfftfreq(size)[None, :]
    scale = (size / np.maximum(np.hypot(fx, fy), 1 / size)).astype("float32")   # 1/f
    channels = tf.signal.irfft2d(tf.complex(spectrum[0] * scale, spectrum[1] * scale),
                                 [size, size]) / 4    # Lucid's scale: a mild start
    colour_axes = tf.constant([[0.563, 0.584, 0.584],    # brightness
                               [0.195, 0.0, -0.195],     # red against blue
                               [0.043, -0.108, 0.065]])  # green against magenta
    return 255 * tf.sigmoid(tf.tensordot(tf.transpose(channels, (0, 2, 3, 1)), colour_axes, 1))


def random_view(images, seed, crop_min=0.1, colour=0.3, shift=16):
    """A random view of each image: a square crop of ``crop_min`` to all of its
    area, resized back, shifted (wrapping), maybe flipped, colours scaled by
    1 +- ``colour``. Differentiable; ``seed`` is a stateless seed pair. Notebook 03."""
    n, size = tf.shape(images)[0], images.shape[1]
    side = tf.sqrt(tf.random.stateless_uniform([n], seed, crop_min, 1.0))
    top = tf.random.stateless_uniform([n], seed + 1) * (1 - side)
    left = tf.random.stateless_uniform([n], seed + 2) * (1 - side)
    boxes = tf.stack([top, left, top + side, left + side], axis=1)
    out = tf.image.crop_and_resize(images, boxes, tf.range(n), [size, size])
    dy, dx = (tf.random.stateless_uniform([], seed + k, -shift, shift + 1, tf.int32)
              for k in (3, 4))
    out = tf.roll(out, [dy, dx], [1, 2])
    flip = tf.random.stateless_uniform([n, 1, 1, 1], seed + 5) < 0.5
    out = tf.where(flip, tf.reverse(out, [2]), out)
    gain = tf.random.stateless_uniform([n, 1, 1, 3], seed + 6, 1 - colour, 1 + colour)
    return (out - 127.5) * gain + 127.5


@tf.function
def spectrum_step(model, spectrum, target, seed):
    """The cross-entropy to ``target`` (a class, or a list of classes whose
    probabilities add up) on a random view of the image, and its gradient with
    respect to the spectrum. Notebook 03."""
    with tf.GradientTape() as tape:       # a tf.Variable is watched without tape.watch
        view = random_view(spectrum_image(spectrum), seed)
        p = tf.reduce_sum(tf.gather(model(view, training=False)[0], target))
        loss = -tf.math.log(p + 1e-12)
    return tape.gradient(loss, spectrum), loss, p


def draw_natural(model, target, steps=300, learning_rate=0.05, seed=0, size=224):
    """Draw ``target`` (a class, or a list of classes) through :func:`spectrum_image`
    from a seeded small random spectrum: Adam on the coefficients, the step size decayed along a
    cosine to a tenth. Notebook 03."""
    rng = np.random.default_rng(seed)
    start = rng.normal(0.0, 0.01, (2, 1, 3, size, size // 2 + 1)).astype("float32")
    spectrum = tf.Variable(start)                       # the coefficients are the weights now
    schedule = keras.optimizers.schedules.CosineDecay(learning_rate, steps, alpha=0.1)
    optimizer = keras.optimizers.Adam(schedule)
    history = {"loss": [], "prob": []}
    begin = time.perf_counter()
    for i in range(steps):
        grad, loss, p = spectrum_step(model, spectrum, tf.constant(target),
                                      tf.constant([seed, i]))
        optimizer.apply_gradients([(grad, spectrum)])
        history["loss"].append(float(loss))
        history["prob"].append(float(p))
    image = spectrum_image(spectrum)[0].numpy()
    return OptimizeResult(image, history, [], time.perf_counter() - begin, steps)
