"""Notebook 03's section 5: an image drawn in the spectrum and colours of photos."""

import keras
import numpy as np
from keras import ops

from helpers.lessons import natural
from helpers.models.labels import CAT_CLASSES


def _spectrum(seed, size=32, spread=0.01):
    rng = np.random.default_rng(seed)
    return rng.normal(0, spread, (2, 1, 3, size, size // 2 + 1)).astype("float32")


def test_spectrum_image_is_rgb_in_range_and_mostly_coarse():
    image = ops.convert_to_numpy(natural.spectrum_image(_spectrum(0, spread=1.0)))
    assert image.shape == (1, 32, 32, 3) and image.min() >= 0 and image.max() <= 255
    # the 1/f scaling: random coefficients give an image whose power is mostly at
    # low frequencies (f < 0.1 cycles per pixel), unlike white noise
    def low_share(x):
        power = np.abs(np.fft.fft2(x - x.mean(axis=(0, 1)), axes=(0, 1))) ** 2
        f = np.hypot(*np.meshgrid(np.fft.fftfreq(32), np.fft.fftfreq(32), indexing="ij"))
        return power[f < 0.1].sum() / power.sum()
    noise = np.random.default_rng(0).normal(size=(32, 32, 3))
    assert low_share(image[0]) > 0.2 > 3 * low_share(noise)   # measured: 0.29 and 0.04


def test_inverse_rfft2_is_numpys():
    x = _spectrum(1, size=16, spread=1.0)
    np.testing.assert_allclose(ops.convert_to_numpy(natural.inverse_rfft2(x[0], x[1])),
                               np.fft.irfft2(x[0] + 1j * x[1], s=(16, 16)), atol=1e-5)


def test_random_views_are_seeded_and_let_the_gradient_through():
    from helpers.lessons.gradients import input_gradient

    model = keras.Sequential([keras.Input((32, 32, 3)), keras.layers.Rescaling(1 / 2550),
                              keras.layers.Flatten(),
                              keras.layers.Dense(3, activation="softmax")])
    spectrum = _spectrum(2)
    views = natural.random_views(np.random.default_rng([3, 4]), 2, 32)
    again = natural.random_views(np.random.default_rng([3, 4]), 2, 32)
    other = natural.random_views(np.random.default_rng([3, 5]), 2, 32)
    np.testing.assert_array_equal(views[0], again[0])
    assert np.abs(views[0] - other[0]).max() > 0.01
    grad, loss, p = input_gradient(natural.natural_loss, model)(
        spectrum, np.array([0, 1], "int32"), views[0][:1], views[1][:1])
    assert np.abs(ops.convert_to_numpy(grad)).sum() > 0 and 0 < float(p) < 1


def test_drawing_a_cat_lowers_the_loss_and_repeats(classifier):
    a = natural.draw_natural(classifier, list(CAT_CLASSES), steps=30, seed=2)
    loss = a.history["loss"]
    assert np.mean(loss[-5:]) < 0.5 * np.mean(loss[:5])
    probs = ops.convert_to_numpy(classifier(np.round(a.image)[None], training=False))[0]
    assert probs[list(CAT_CLASSES)].sum() > 0.5          # the saved image, seen whole
    b = natural.draw_natural(classifier, list(CAT_CLASSES), steps=30, seed=2)
    np.testing.assert_allclose(a.image, b.image, atol=1e-2)
