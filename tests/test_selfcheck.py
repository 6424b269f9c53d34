"""The code checks (issue #35): a stub is "not done yet", a right answer is right,
and each wrong answer is named with its fix. Small models, so the test is quick."""

import keras
import numpy as np

from helpers import selfcheck


def tiny_backbone():
    inputs = keras.Input((16, 16, 3))
    x = keras.layers.Conv2D(4, 3, name="conv_a")(inputs)
    x = keras.layers.BatchNormalization(name="bn_a")(x)
    x = keras.layers.Conv2D(4, 3, name="conv_b")(x)
    x = keras.layers.BatchNormalization(name="bn_b")(x)
    x = keras.layers.Conv2D(4, 3, name="conv_c")(x)
    return keras.Model(inputs, keras.layers.GlobalAveragePooling2D()(x), name="tiny")


def head_on(backbone, units=2, activation="softmax"):
    inputs = keras.Input((16, 16, 3))
    outputs = keras.layers.Dense(units, activation=activation)(backbone(inputs, training=False))
    return keras.Model(inputs, outputs)


def test_frozen_head():
    assert selfcheck.frozen_head(None, None, 2).startswith("Not done yet")
    backbone = tiny_backbone()
    backbone.trainable = False
    assert selfcheck.frozen_head(head_on(backbone), backbone, 2).startswith("Right")
    assert "3 outputs; there are 2 classes" in selfcheck.frozen_head(head_on(backbone, 3), backbone, 2)
    assert "not probabilities" in selfcheck.frozen_head(head_on(backbone, 2, None), backbone, 2)
    other = tiny_backbone()
    other.trainable = False
    assert "does not use this backbone" in selfcheck.frozen_head(head_on(other), backbone, 2)
    thawed = tiny_backbone()
    assert "the backbone is not frozen" in selfcheck.frozen_head(head_on(thawed), thawed, 2)


def test_unfrozen():
    assert selfcheck.unfrozen(None, "conv_b").startswith("Not done yet")
    backbone = tiny_backbone()
    backbone.trainable = True
    for layer in backbone.layers:
        layer.trainable = layer.name in ("conv_b", "conv_c")
    assert selfcheck.unfrozen(backbone, "conv_b").startswith("Right")
    backbone.get_layer("bn_b").trainable = True
    assert "BatchNormalization layers are trainable (first: bn_b)" in selfcheck.unfrozen(backbone, "conv_b")
    backbone.get_layer("bn_b").trainable = False
    backbone.get_layer("conv_a").trainable = True
    assert "before conv_b are trainable (first: conv_a)" in selfcheck.unfrozen(backbone, "conv_b")
    backbone.get_layer("conv_a").trainable = False
    backbone.get_layer("conv_c").trainable = False
    assert "still frozen (first: conv_c)" in selfcheck.unfrozen(backbone, "conv_b")
    assert "no layer 'block99'" in selfcheck.unfrozen(backbone, "block99")


def test_total_variation():
    from keras import ops

    def right(images):
        return (ops.sum(ops.abs(images[:, 1:] - images[:, :-1]))
                + ops.sum(ops.abs(images[:, :, 1:] - images[:, :, :-1])))

    assert selfcheck.total_variation(None).startswith("Not done yet")
    assert selfcheck.total_variation(right).startswith("Right")
    assert "only the differences down" in selfcheck.total_variation(
        lambda x: ops.sum(ops.abs(x[:, 1:] - x[:, :-1])))
    assert "squared differences" in selfcheck.total_variation(
        lambda x: ops.sum((x[:, 1:] - x[:, :-1]) ** 2) + ops.sum((x[:, :, 1:] - x[:, :, :-1]) ** 2))
    assert "signed differences cancel" in selfcheck.total_variation(
        lambda x: ops.sum(x[:, 1:] - x[:, :-1]) + ops.sum(x[:, :, 1:] - x[:, :, :-1]))
    assert "it raised ValueError" in selfcheck.total_variation(lambda x: int("x"))


def test_fgsm_step():
    photo = np.full((16, 16, 3), 100.0, "float32")
    assert selfcheck.fgsm_step(photo, None, 2.0).startswith("Not done yet")
    assert selfcheck.fgsm_step(photo, photo + 2.0, 2.0).startswith("Right")
    assert "more than epsilon" in selfcheck.fgsm_step(photo, photo + 5.0, 2.0)
    assert "no pixel changed" in selfcheck.fgsm_step(photo, photo, 2.0)
    assert "left 0..255" in selfcheck.fgsm_step(np.full_like(photo, 254.5), np.full_like(photo, 256.0), 2.0)
    assert "has shape" in selfcheck.fgsm_step(photo, photo[:8], 2.0)
    # a model whose class 0 grows with brightness: a step down lowers p(0)
    inputs = keras.Input((16, 16, 3))
    mean = keras.layers.GlobalAveragePooling2D()(inputs)
    logits = keras.layers.Dense(2, kernel_initializer=keras.initializers.Constant(
        [[0.001, -0.001]] * 3), bias_initializer="zeros")(mean)
    model = keras.Model(inputs, keras.layers.Softmax()(logits))
    assert selfcheck.fgsm_step(photo, photo + 2.0, 2.0, model, 0).startswith("Right")
    assert "p(target) fell" in selfcheck.fgsm_step(photo, photo - 2.0, 2.0, model, 0)


def test_scratch_model():
    assert selfcheck.scratch_model(None, (16, 16, 3), 2).startswith("Not done yet")
    backbone = tiny_backbone()
    assert selfcheck.scratch_model(head_on(backbone), (16, 16, 3), 2).startswith("Right")
    assert "10 classes" in selfcheck.scratch_model(head_on(backbone), (16, 16, 3), 10)
    assert "the images are (28, 28, 1)" in selfcheck.scratch_model(head_on(backbone), (28, 28, 1), 2)
    backbone.get_layer("conv_a").trainable = False
    assert "frozen (first: conv_a)" in selfcheck.scratch_model(head_on(backbone), (16, 16, 3), 2)
    maps = keras.Sequential([keras.Input((16, 16, 3)), keras.layers.Conv2D(2, 3)])
    assert "pool the feature maps" in selfcheck.scratch_model(maps, (16, 16, 3), 2)
    assert "not probabilities" in selfcheck.scratch_model(head_on(backbone, 2, None), (16, 16, 3), 2)
    dense = keras.Sequential([keras.Input((16, 16, 3)), keras.layers.Flatten(),
                              keras.layers.Dense(2, activation="softmax")])
    assert "no Conv2D layer" in selfcheck.scratch_model(dense, (16, 16, 3), 2)


def test_hand_in():
    names = [f"breed{i}" for i in range(37)]
    assert selfcheck.hand_in(None, names).startswith("Not done yet")
    backbone = tiny_backbone()
    assert selfcheck.hand_in(head_on(backbone, 37), names).startswith("Right")
    assert "shape (2,) for 37 breeds" in selfcheck.hand_in(head_on(backbone, 2), names)

    class Doubling(keras.layers.Layer):
        def call(self, x):
            return 2 * x

    inputs = keras.Input((16, 16, 3))
    odd = keras.Model(inputs, keras.layers.Dense(37)(
        keras.layers.GlobalAveragePooling2D()(Doubling(name="doubling")(inputs))))
    assert "outside Keras (doubling)" in selfcheck.hand_in(odd, names)
    inputs = keras.Input((16, 16, 3))
    x = keras.layers.Lambda(lambda t: t / 255.0, name="scale")(inputs)
    lam = keras.Model(inputs, keras.layers.Dense(37)(keras.layers.GlobalAveragePooling2D()(x)))
    assert "Lambda layers (scale)" in selfcheck.hand_in(lam, names)
    flat = keras.Sequential([keras.Input((16, 20, 3)), keras.layers.GlobalAveragePooling2D(),
                             keras.layers.Dense(37)])
    assert "square RGB" in selfcheck.hand_in(flat, names)
