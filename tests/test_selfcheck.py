"""The code checks (issue #35): a stub is "not done yet", a right answer is right,
and each wrong answer is named with its fix. Small models, so the test is quick."""

import keras
import numpy as np

from helpers.lessons import selfcheck


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
    assert selfcheck.frozen_head(head_on(backbone, 5), backbone, 5).startswith("Right")
    assert "3 outputs; there are 2 classes" in selfcheck.frozen_head(head_on(backbone, 3), backbone, 2)
    assert "not probabilities" in selfcheck.frozen_head(head_on(backbone, 2, None), backbone, 2)
    other = tiny_backbone()
    other.trainable = False
    assert "does not use this backbone" in selfcheck.frozen_head(head_on(other), backbone, 2)
    thawed = tiny_backbone()
    assert "the backbone is not frozen" in selfcheck.frozen_head(head_on(thawed), thawed, 2)
    # the top kept: a frozen classifier of 10 classes, a Dense(2) on its probabilities
    inputs = keras.Input((16, 16, 3))
    probs = keras.layers.Dense(10, activation="softmax", name="predictions")(tiny_backbone()(inputs))
    topped = keras.Model(inputs, probs, name="classifier")
    topped.trainable = False
    said = selfcheck.frozen_head(head_on(topped), topped, 2)
    assert "still has its classifier on top (predictions, 10 classes)" in said
    assert "include_top=False" in said


def test_with_lite0(classifier):
    """The real network: its ImageNet top kept under a new head, and Lite0 with its
    ImageNet weights offered as a CNN "from scratch"."""
    from helpers.models import backbones

    classifier.trainable = False
    said = selfcheck.frozen_head(head_on_224(classifier), classifier, 2)
    assert "still has its classifier on top (predictions, 1000 classes)" in said
    features = keras.Model(classifier.input, classifier.get_layer("avg_pool").output,
                           name="efficientnet_lite0_features")
    assert selfcheck.frozen_head(head_on_224(features), features, 2).startswith("Right")
    classifier.trainable = True
    said = selfcheck.scratch_model(head_on_224(features), (224, 224, 3), 2)
    assert "efficientnet_lite0_features starts from weights trained already" in said
    flat = keras.Model(features.input, keras.layers.Dense(2, activation="softmax")(features.output))
    assert "starts from weights trained already" in selfcheck.scratch_model(flat, (224, 224, 3), 2)
    random = backbones.get_backbone("efficientnet_lite0", weights=None)
    assert selfcheck.scratch_model(head_on_224(random), (224, 224, 3), 2).startswith("Right")
    # one FGSM step toward "tabby" (281) on the real classifier
    from keras import ops

    from helpers.lessons.gradients import input_gradient
    from helpers.lessons.optimize import attack_loss, fgsm

    photo = np.random.default_rng(0).integers(0, 256, (224, 224, 3)).astype("float32")
    g = ops.convert_to_numpy(input_gradient(attack_loss, classifier)(photo[None], np.int32(281))[0])[0]
    check = lambda x: selfcheck.fgsm_step(photo, x, 2.0, classifier, 281)  # noqa: E731
    assert check(fgsm(classifier, photo, 281, 2.0)).startswith("Right")
    assert check(np.clip(photo - 2.0 * np.sign(g), 0, 255)).startswith("Right")
    assert "different amounts" in check(np.clip(photo - 2.0 * g / np.abs(g).max(), 0, 255))
    assert "every pixel moved by 0.5" in check(np.clip(photo - 0.5 * np.sign(g), 0, 255))
    signs = np.random.default_rng(1).choice([-1.0, 1.0], photo.shape)
    assert "do not follow the gradient" in check(np.clip(photo + 2.0 * signs, 0, 255))


def head_on_224(backbone):
    inputs = keras.Input((224, 224, 3))
    return keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(
        backbone(inputs, training=False)))


def unfrozen_from_conv_b():
    backbone = tiny_backbone()
    backbone.trainable = True
    for layer in backbone.layers:
        layer.trainable = layer.name in ("conv_b", "conv_c")
    return backbone


def test_unfrozen():
    assert selfcheck.unfrozen(None, "conv_b").startswith("Not done yet")
    backbone = unfrozen_from_conv_b()
    assert selfcheck.unfrozen(backbone, "conv_b").startswith("Right: 4 trainable weight tensors")
    # the notebook's solution: freeze before the start and every BatchNormalization
    solution = tiny_backbone()
    solution.trainable = True
    start = [layer.name for layer in solution.layers].index("conv_b")
    for i, layer in enumerate(solution.layers):
        if i < start or isinstance(layer, keras.layers.BatchNormalization):
            layer.trainable = False
    assert selfcheck.unfrozen(solution, "conv_b").startswith("Right: 4 trainable")
    backbone.get_layer("bn_b").trainable = True
    assert "BatchNormalization layers are trainable (first: bn_b)" in selfcheck.unfrozen(backbone, "conv_b")
    backbone.get_layer("bn_b").trainable = False
    backbone.get_layer("conv_a").trainable = True
    assert "before conv_b are trainable (first: conv_a)" in selfcheck.unfrozen(backbone, "conv_b")
    backbone.get_layer("conv_a").trainable = False
    backbone.get_layer("conv_c").trainable = False
    assert "still frozen (first: conv_c)" in selfcheck.unfrozen(backbone, "conv_b")
    assert "no layer 'block99'" in selfcheck.unfrozen(backbone, "block99")
    # frozen as a whole, its top flagged trainable afterwards: Keras trains nothing
    whole = tiny_backbone()
    whole.trainable = False
    for name in ("conv_b", "conv_c"):
        whole.get_layer(name).trainable = True
    assert whole.trainable_weights == []
    said = selfcheck.unfrozen(whole, "conv_b")
    assert said.startswith("Not yet") and "backbone.trainable is False" in said
    # a head-less everything-frozen backbone says so too
    nothing = unfrozen_from_conv_b()
    for name in ("conv_b", "conv_c"):
        nothing.get_layer(name).trainable = False
    assert "no weight of the backbone is trainable" in selfcheck.unfrozen(nothing, "conv_b")


def test_total_variation():
    import tensorflow as tf
    from keras import ops

    def right(images):
        return (ops.sum(ops.abs(images[:, 1:] - images[:, :-1]))
                + ops.sum(ops.abs(images[:, :, 1:] - images[:, :, :-1])))

    def right_numpy(images):   # another shape of the right answer: NumPy, float out
        x = ops.convert_to_numpy(images)
        return float(np.abs(np.diff(x, axis=1)).sum() + np.abs(np.diff(x, axis=2)).sum())

    def per_image(images):
        return (ops.sum(ops.abs(images[:, 1:] - images[:, :-1]), axis=(1, 2, 3))
                + ops.sum(ops.abs(images[:, :, 1:] - images[:, :, :-1]), axis=(1, 2, 3)))

    assert selfcheck.total_variation(None).startswith("Not done yet")
    assert selfcheck.total_variation(right).startswith("Right")
    assert selfcheck.total_variation(right_numpy).startswith("Right")
    assert selfcheck.total_variation(lambda x: ops.sum(per_image(x))).startswith("Right")
    assert "one number per image" in selfcheck.total_variation(per_image)
    assert "one number per image" in selfcheck.total_variation(tf.image.total_variation)
    assert "shape (2, 5, 3), not one number" in selfcheck.total_variation(
        lambda x: ops.sum(ops.abs(x[:, 1:] - x[:, :-1]), axis=1))
    assert "only the differences down" in selfcheck.total_variation(
        lambda x: ops.sum(ops.abs(x[:, 1:] - x[:, :-1])))
    assert "only the differences across" in selfcheck.total_variation(
        lambda x: ops.sum(ops.abs(x[:, :, 1:] - x[:, :, :-1])))
    assert "squared differences" in selfcheck.total_variation(
        lambda x: ops.sum((x[:, 1:] - x[:, :-1]) ** 2) + ops.sum((x[:, :, 1:] - x[:, :, :-1]) ** 2))
    assert "signed differences cancel" in selfcheck.total_variation(
        lambda x: ops.sum(x[:, 1:] - x[:, :-1]) + ops.sum(x[:, :, 1:] - x[:, :, :-1]))
    assert "a mean" in selfcheck.total_variation(
        lambda x: ops.mean(ops.abs(x[:, 1:] - x[:, :-1])) + ops.mean(ops.abs(x[:, :, 1:] - x[:, :, :-1])))
    assert "it raised ValueError" in selfcheck.total_variation(lambda x: int("x"))


def small_classifier():
    """A random small CNN of 3 classes: its input gradient differs from pixel to pixel."""
    keras.utils.set_random_seed(1)
    return keras.Sequential([keras.Input((16, 16, 3)), keras.layers.Rescaling(1 / 127.5, -1),
                             keras.layers.Conv2D(8, 3, activation="tanh"),
                             keras.layers.Conv2D(8, 3, activation="tanh"),
                             keras.layers.GlobalAveragePooling2D(),
                             keras.layers.Dense(3, activation="softmax")])


def test_fgsm_step():
    from keras import ops

    from helpers.lessons.gradients import input_gradient
    from helpers.lessons.optimize import attack_loss, fgsm

    model, target, eps = small_classifier(), 2, 2.0
    rng = np.random.default_rng(0)
    photo = rng.integers(0, 256, (16, 16, 3)).astype("float32")
    photo[0, :4] = 0.0          # pixels a step may clip
    photo[1, :4] = 255.0
    grad, _, _ = input_gradient(attack_loss, model)(photo[None], np.int32(target))
    g = ops.convert_to_numpy(grad)[0]
    assert (g != 0).mean() > 0.99 and 0.2 < (g > 0).mean() < 0.8  # signs that differ
    check = lambda x, e=eps: selfcheck.fgsm_step(photo, x, e, model, target)  # noqa: E731

    assert selfcheck.fgsm_step(photo, None, eps, model, target).startswith("Not done yet")
    # right answers of several shapes
    assert check(np.clip(photo - eps * np.sign(g), 0, 255)).startswith("Right")
    assert check(fgsm(model, photo, target, eps)).startswith("Right")          # the course's
    assert check(ops.convert_to_tensor(np.clip(photo - eps * np.sign(g), 0, 255))).startswith("Right")
    assert check(np.clip(photo - 4.0 * np.sign(g), 0, 255), 4.0).startswith("Right")
    # wrong answers of each kind
    assert "no pixel changed" in check(photo)
    assert "has shape (1, 16, 16, 3)" in check(photo[None] + 0) and "batch axis" in check(photo[None])
    assert "left 0..255" in check(photo - eps * np.sign(g))                    # not clipped
    scaled = np.clip(photo - eps * g / np.abs(g).max(), 0, 255)                 # not FGSM
    assert "different amounts" in check(scaled)
    assert "every pixel moved by 0.5; FGSM moves each by exactly epsilon = 2" in check(
        np.clip(photo - 0.5 * np.sign(g), 0, 255))
    raw = np.clip(photo - 1000 * g, 0, 255)
    assert "more than epsilon" in check(raw) or "different amounts" in check(raw)
    assert "moved along the gradient" in check(np.clip(photo + eps * np.sign(g), 0, 255))
    random_signs = np.clip(photo + eps * rng.choice([-1.0, 1.0], photo.shape), 0, 255)
    said = check(random_signs)
    assert said.startswith("Not yet") and "do not follow the gradient" in said
    other = ops.convert_to_numpy(input_gradient(attack_loss, model)(
        photo[None], np.int32(0))[0])[0]                                        # another target
    assert "do not follow the gradient" in check(np.clip(photo - eps * np.sign(other), 0, 255))
    # without a model only the step sizes are judged
    assert selfcheck.fgsm_step(photo, random_signs, eps).startswith("Right")
    assert "more than epsilon" in selfcheck.fgsm_step(photo, photo + 5.0, eps)
    assert "every pixel moved by 0.5" in selfcheck.fgsm_step(photo, np.clip(photo + 0.5, 0, 255), eps)


def test_scratch_model():
    assert selfcheck.scratch_model(None, (16, 16, 3), 2).startswith("Not done yet")
    backbone = tiny_backbone()
    assert selfcheck.scratch_model(head_on(backbone), (16, 16, 3), 2).startswith("Right")
    separable = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.SeparableConv2D(8, 3),
                                  keras.layers.MaxPooling2D(), keras.layers.SeparableConv2D(16, 3),
                                  keras.layers.Flatten(), keras.layers.Dense(10, activation="softmax")])
    assert selfcheck.scratch_model(separable, (28, 28, 1), 10).startswith("Right")
    assert "10 classes" in selfcheck.scratch_model(head_on(backbone), (16, 16, 3), 10)
    assert "the images are (28, 28, 1)" in selfcheck.scratch_model(head_on(backbone), (28, 28, 1), 2)
    maps = keras.Sequential([keras.Input((16, 16, 3)), keras.layers.Conv2D(2, 3)])
    assert "pool the feature maps" in selfcheck.scratch_model(maps, (16, 16, 3), 2)
    assert "not probabilities" in selfcheck.scratch_model(head_on(backbone, 2, None), (16, 16, 3), 2)
    dense = keras.Sequential([keras.Input((16, 16, 3)), keras.layers.Flatten(),
                              keras.layers.Dense(2, activation="softmax")])
    assert "no convolution layer" in selfcheck.scratch_model(dense, (16, 16, 3), 2)
    # a backbone with weights trained already, named as keras.applications names it
    trained = tiny_backbone()
    trained.name = "mobilenetv2_1.00_224"
    assert selfcheck.scratch_model(head_on(trained), (16, 16, 3), 2).startswith("Right")  # fresh
    bn = trained.get_layer("bn_a")
    bn.moving_variance.assign(np.full((4,), 3.0, "float32"))
    assert "mobilenetv2_1.00_224 starts from weights trained already" in selfcheck.scratch_model(
        head_on(trained), (16, 16, 3), 2)
    backbone.get_layer("conv_a").trainable = False
    assert "frozen (first: conv_a)" in selfcheck.scratch_model(head_on(backbone), (16, 16, 3), 2)
    backbone.trainable = False
    assert "layers are frozen" in selfcheck.scratch_model(head_on(backbone), (16, 16, 3), 2)


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
