"""Notebook 03's section 5: an image drawn in the spectrum and colours of photos."""

import numpy as np
import tensorflow as tf

from helpers import natural
from helpers.labels import CAT_CLASSES


def _spectrum(seed, size=32, spread=0.01):
    rng = np.random.default_rng(seed)
    return tf.constant(rng.normal(0, spread, (2, 1, 3, size, size // 2 + 1)).astype("float32"))


def test_spectrum_image_is_rgb_in_range_and_mostly_coarse():
    image = natural.spectrum_image(_spectrum(0, spread=1.0)).numpy()
    assert image.shape == (1, 32, 32, 3) and image.min() >= 0 and image.max() <= 255
    # the 1/f scaling: random coefficients give an image whose power is mostly at
    # low frequencies (f < 0.1 cycles per pixel), unlike white noise
    def low_share(x):
        power = np.abs(np.fft.fft2(x - x.mean(axis=(0, 1)), axes=(0, 1))) ** 2
        f = np.hypot(*np.meshgrid(np.fft.fftfreq(32), np.fft.fftfreq(32), indexing="ij"))
        return power[f < 0.1].sum() / power.sum()
    noise = np.random.default_rng(0).normal(size=(32, 32, 3))
    assert low_share(image[0]) > 0.2 > 3 * low_share(noise)   # measured: 0.29 and 0.04


def test_random_view_is_seeded_and_lets_the_gradient_through():
    image = tf.Variable(tf.random.stateless_uniform((1, 32, 32, 3), [1, 2], 0, 255))
    with tf.GradientTape() as tape:
        view = natural.random_view(image, tf.constant([3, 4]))
        total = tf.reduce_sum(view)
    assert float(tf.reduce_sum(tf.abs(tape.gradient(total, image)))) > 0
    again = natural.random_view(image, tf.constant([3, 4]))
    other = natural.random_view(image, tf.constant([3, 5]))
    np.testing.assert_allclose(view.numpy(), again.numpy())
    assert np.abs(view.numpy() - other.numpy()).mean() > 1


def test_drawing_a_cat_lowers_the_loss_and_repeats(classifier):
    a = natural.draw_natural(classifier, list(CAT_CLASSES), steps=30, seed=2)
    loss = a.history["loss"]
    assert np.mean(loss[-5:]) < 0.5 * np.mean(loss[:5])
    probs = classifier(np.round(a.image)[None], training=False).numpy()[0]
    assert probs[list(CAT_CLASSES)].sum() > 0.5          # the saved image, seen whole
    b = natural.draw_natural(classifier, list(CAT_CLASSES), steps=30, seed=2)
    np.testing.assert_allclose(a.image, b.image, atol=1e-2)
