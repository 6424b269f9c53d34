"""What a network remembers of natural images: the statistics in its BatchNorm layers.

For issue #26 (the ideal cat that other networks see); measured by
``benchmarks/ideal_cat_levers.py``, where it did not help (on the spectrum
recipe, Lite1's verdict 0.25 at a weight of 0.001 and 0.13 at 0.01, against 0.32
without, 3 seeds each): notebook 03 leaves it to an exercise. It runs on
TensorFlow only, so it lives here, beside the benchmark that measured it, and not
in the course's package.

Every ``BatchNormalization`` layer keeps the mean and variance of its input over
the ImageNet training images (``moving_mean``, ``moving_variance``). An image, or
a batch of images, whose activations have other statistics is not like the
photos the network learned from. DeepInversion (Yin et al., "Dreaming to
Distill", CVPR 2020) adds that distance to the loss of the input optimisation:

    R_bn = sum over BN layers of ||mu_batch - moving_mean||_2 + ||var_batch - moving_variance||_2

(the first layer weighted 10x), the batch statistics taken over the images and
their positions.
"""

from __future__ import annotations

import keras
import tensorflow as tf


def statistics_model(model):
    """``(stats_model, bn_layers)``: a model from ``model``'s input to the input of
    each of its BatchNorm layers, and to its output last."""
    layers = model._flatten_layers() if hasattr(model, "_flatten_layers") else model.layers
    bns = [layer for layer in layers if isinstance(layer, keras.layers.BatchNormalization)]
    if not bns:
        raise ValueError(f"{model.name} has no BatchNormalization layer: nothing to match")
    return keras.Model(model.input, [bn.input for bn in bns] + [model.output]), bns


def bn_prior(activations, bn_layers, first_weight=10.0):
    """R_bn of a batch: ``activations`` are the BatchNorm layers' inputs (from
    :func:`statistics_model`), matched against each layer's running statistics."""
    total = 0.0
    for i, (x, bn) in enumerate(zip(activations, bn_layers)):
        axes = list(range(len(x.shape) - 1))
        mean = tf.reduce_mean(x, axes)
        variance = tf.reduce_mean(tf.square(x - mean), axes)
        distance = (tf.norm(mean - bn.moving_mean) +
                    tf.norm(variance - bn.moving_variance))
        total += (first_weight if i == 0 else 1.0) * distance
    return total
