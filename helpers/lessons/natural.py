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
(``python -m helpers save``
writes them here); ``python -m helpers dream``
reuses them. ``benchmarks/ideal_cat_levers.py`` measured the choice.
"""

from __future__ import annotations

import time

import keras
import numpy as np
from keras import ops

from helpers.lessons.gradients import input_gradient
from helpers.lessons.optimize import OptimizeResult, jitter_transform


# Notebook 03's `#@save` cells: edit them there, then run `python -m helpers save`.

def inverse_rfft2(real, imag):
    """The real image of the half spectrum ``(real, imag)`` (..., size, size // 2 + 1),
    as ``numpy.fft.irfft2``: an inverse FFT down the columns, then a real inverse
    FFT along the rows, in ``keras.ops``. Notebook 03."""
    size = real.shape[-2]
    cols_r, cols_i = ops.swapaxes(real, -1, -2), ops.swapaxes(imag, -1, -2)
    fr, fi = ops.fft((cols_r, -cols_i))            # ifft(x) = conj(fft(conj(x))) / n
    rows_r, rows_i = ops.swapaxes(fr, -1, -2) / size, ops.swapaxes(-fi, -1, -2) / size
    return ops.irfft((rows_r, rows_i), fft_length=size)


def spectrum_image(spectrum):
    """The pixels (batch, size, size, 3), in 0..255, of trainable Fourier
    coefficients ``spectrum`` (2, batch, 3, size, size // 2 + 1): real and
    imaginary parts, scaled by 1/f, mixed through ImageNet's colour axes.
    Notebook 03."""
    size = spectrum.shape[3]
    fy, fx = np.fft.fftfreq(size)[:, None], np.fft.rfftfreq(size)[None, :]
    scale = (size / np.maximum(np.hypot(fx, fy), 1 / size)).astype("float32")   # 1/f
    channels = inverse_rfft2(ops.multiply(spectrum[0], scale), ops.multiply(spectrum[1], scale)) / 4
    colour_axes = np.array([[0.563, 0.584, 0.584],     # brightness
                            [0.195, 0.0, -0.195],      # red against blue
                            [0.043, -0.108, 0.065]], "float32")  # green against magenta
    return 255 * ops.sigmoid(ops.matmul(ops.transpose(channels, (0, 2, 3, 1)), colour_axes))


def random_views(rng, n, size, crop_min=0.1, colour=0.3, shift=16):
    """``n`` random views, each as the 8 numbers of an affine transform and 3
    colour gains: a square crop of ``crop_min`` to all of the area, resized back,
    shifted (wrapping), maybe flipped; colours scaled by 1 +- ``colour``.
    ``rng`` is a NumPy generator. Notebook 03."""
    transforms, last = [], size - 1
    for _ in range(n):
        side = np.sqrt(rng.uniform(crop_min, 1.0))
        top, left = rng.uniform(0, 1 - side, 2)
        dy, dx = rng.integers(-shift, shift + 1, 2)
        mirror = rng.uniform() < 0.5
        a0 = -side if mirror else side
        a2 = left * last + side * ((last if mirror else 0) - dx)
        transforms.append([a0, 0.0, a2, 0.0, side, top * last - side * dy, 0.0, 0.0])
    gains = rng.uniform(1 - colour, 1 + colour, (n, 1, 1, 3))
    return np.array(transforms, "float32"), gains.astype("float32")


def natural_loss(model, spectrum, target, transforms, gains):
    """The cross-entropy to ``target`` (a class, or classes whose probabilities
    add up) of a random view of :func:`spectrum_image`. Returns ``(loss, p)``.
    The same on every backend. Notebook 03."""
    view = jitter_transform(spectrum_image(spectrum), transforms)
    view = ops.multiply(view - 127.5, gains) + 127.5
    p = ops.sum(ops.take(model(view, training=False)[0], target))
    return -ops.log(p + 1e-12), p


def draw_natural(model, target, steps=300, learning_rate=0.05, seed=0, size=224):
    """Draw ``target`` (a class, or a list of classes) through :func:`spectrum_image`
    from a seeded small random spectrum: Adam on the coefficients, the step size
    decayed along a cosine to a tenth. Notebook 03."""
    rng = np.random.default_rng(seed)
    start = rng.normal(0.0, 0.01, (2, 1, 3, size, size // 2 + 1)).astype("float32")
    spectrum = keras.Variable(start)                   # the coefficients are the weights now
    schedule = keras.optimizers.schedules.CosineDecay(learning_rate, steps, alpha=0.1)
    optimizer = keras.optimizers.Adam(schedule)
    gradient = input_gradient(natural_loss, model)
    classes = np.atleast_1d(np.asarray(target, "int32"))
    history = {"loss": [], "prob": []}
    begin = time.perf_counter()
    for i in range(steps):
        transforms, gains = random_views(np.random.default_rng([seed, i]), 1, size)
        grad, loss, p = gradient(spectrum.value, classes, transforms, gains)
        optimizer.apply_gradients([(grad, spectrum)])
        history["loss"].append(float(loss))
        history["prob"].append(float(p))
    image = ops.convert_to_numpy(ops.stop_gradient(spectrum_image(spectrum.value)))[0]
    return OptimizeResult(image, history, [], time.perf_counter() - begin, steps)
