"""The BatchNorm-statistics term of issue #26 (DeepInversion's R_bn), on TensorFlow.

Not in ``make test`` (the prior left the course); run it with
``python -m pytest benchmarks/test_bnprior.py`` before a benchmark that uses it.
"""

import keras
import numpy as np
import tensorflow as tf

import bnprior   # benchmarks/bnprior.py, beside this file


def _small_net():
    """A functional network with two BatchNorm layers, as the course's backbones are."""
    keras.utils.set_random_seed(0)
    x = inputs = keras.Input((8, 8, 3))
    for _ in range(2):
        x = keras.layers.Conv2D(4, 3, padding="same")(x)
        x = keras.layers.BatchNormalization()(x)
        x = keras.layers.ReLU()(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(x))


def test_zero_when_the_batch_matches_the_running_statistics_larger_when_not():
    net = _small_net()
    stats, bns = bnprior.statistics_model(net)
    batch = np.random.default_rng(1).uniform(0, 255, (6, 8, 8, 3)).astype("float32")
    for _ in range(2):   # set each layer's running statistics to this batch's, layer by layer
        acts = stats(batch, training=False)[:-1]
        for x, bn in zip(acts, bns):
            mean = tf.reduce_mean(x, [0, 1, 2])
            bn.moving_mean.assign(mean)
            bn.moving_variance.assign(tf.reduce_mean(tf.square(x - mean), [0, 1, 2]))
    matched = float(bnprior.bn_prior(stats(batch, training=False)[:-1], bns))
    other = float(bnprior.bn_prior(stats(batch * 0.5 + 40, training=False)[:-1], bns))
    assert matched < 1e-3 < other


def test_a_short_seeded_run_lowers_it():
    net = _small_net()
    stats, bns = bnprior.statistics_model(net)
    image = tf.Variable(np.random.default_rng(2).uniform(0, 255, (2, 8, 8, 3)).astype("float32"))
    optimizer = keras.optimizers.Adam(2.0)
    values = []
    for _ in range(30):
        with tf.GradientTape() as tape:
            loss = bnprior.bn_prior(stats(image, training=False)[:-1], bns)
        optimizer.apply_gradients([(tape.gradient(loss, image), image)])
        values.append(float(loss))
    assert values[-1] < 0.5 * values[0]


def test_a_network_without_batchnorm_is_named():
    import pytest

    net = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)], name="plain")
    with pytest.raises(ValueError, match="plain has no BatchNormalization"):
        bnprior.statistics_model(net)
