import subprocess
import sys
import textwrap

import numpy as np

from helpers.lessons import train


def test_head_learns_separable_features():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 16)).astype("float32")
    y = (x[:, 0] > 0).astype("int32")
    head, history, _ = train.train_head(x[:150], y[:150], x[150:], y[150:], 2, epochs=200,
                                        learning_rate=1e-2)
    assert min(history.history["loss"]) < 0.8 * history.history["loss"][0]
    assert (head.predict(x[150:], verbose=0).argmax(1) == y[150:]).mean() >= 0.9


def test_fine_tuning_runs_under_mirrored_strategy_on_two_cpus():
    # A fresh process: logical devices must be configured before TensorFlow starts.
    code = textwrap.dedent("""
        import numpy as np, tensorflow as tf
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
        from helpers.lessons import train
        strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
        rng = np.random.default_rng(0)
        images = rng.uniform(0, 255, (16, 64, 64, 3)).astype("float32")
        labels = (images[:, :, :32].mean(axis=(1, 2, 3)) > images[:, :, 32:].mean(axis=(1, 2, 3))).astype("int32")
        import keras
        with strategy.scope():   # as the README's GPU section builds and compiles
            head = train.make_head(1280, 2)
            model, backbone = train.build_classifier(head, image_size=64)
            n = train.unfreeze_top(backbone, "block15_expand_conv")
            model.compile(optimizer=keras.optimizers.Adam(1e-4),
                          loss="sparse_categorical_crossentropy")
        ds = tf.data.Dataset.from_tensor_slices((images, labels)).batch(8)
        before = [w.numpy().copy() for w in backbone.trainable_weights]
        hist = model.fit(ds, epochs=2, verbose=0)
        changed = any(not np.allclose(a, w.numpy()) for a, w in zip(before, backbone.trainable_weights))
        print("replicas", strategy.num_replicas_in_sync, "trainable", n, "changed", changed,
              "finite", bool(np.isfinite(hist.history["loss"]).all()))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "replicas 2" in out.stdout and "changed True" in out.stdout and "finite True" in out.stdout


def test_unfreeze_keeps_batchnorm_frozen():
    head = train.make_head(1280, 2)
    model, backbone = train.build_classifier(head, image_size=96)
    train.unfreeze_top(backbone, "block14_expand_conv")
    import keras

    trainable = [layer for layer in backbone.layers if layer.trainable and layer.weights]
    assert trainable and not any(isinstance(layer, keras.layers.BatchNormalization)
                                 for layer in trainable)
    assert not backbone.get_layer("block13_dwconv").trainable
    import pytest

    with pytest.raises(ValueError, match="block99_expand_conv"):
        train.unfreeze_top(backbone, "block99_expand_conv")


def test_unfreeze_reaches_a_nested_keras_application():
    """keras.applications backbones sit one level down, behind their preprocessing
    (backbones._keras_application): UNFREEZE_FROM names a layer of the inner model."""
    import keras

    inner = keras.applications.MobileNetV2(include_top=False, weights=None, alpha=0.35,
                                           input_shape=(64, 64, 3), pooling="avg")
    inputs = keras.Input((64, 64, 3))
    backbone = keras.Model(inputs, inner(keras.layers.Rescaling(1 / 127.5, -1)(inputs)))
    n = train.unfreeze_top(backbone, "block_16_expand")
    assert n > 0 and n == len(backbone.trainable_weights)
    assert not inner.get_layer("block_15_expand").trainable
    assert inner.get_layer("block_16_expand").trainable
    assert not any(isinstance(layer, keras.layers.BatchNormalization) and layer.trainable
                   for layer in inner.layers)


def test_linear_head_reproduces_logistic_regression():
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    for classes in (2, 5):
        x = rng.normal(size=(120, 6)).astype("float32")
        y = rng.integers(0, classes, 120)
        clf = LogisticRegression(max_iter=2000).fit(x, y)
        head = train.linear_head(clf)
        np.testing.assert_allclose(head(x).numpy(), clf.predict_proba(x), atol=1e-5)


def test_accuracy_intervals_shrink_with_more_photos():
    from helpers.lessons import metrics

    small, large = metrics.interval(72, 73), metrics.interval(986, 1000)
    assert small.low < 0.93 < large.low < 0.986 < large.high < small.high
    assert str(small) == "0.986 (95% CI 0.926-0.998, n=73)"
    probs = np.eye(4)[[0, 1, 2, 2]]
    assert metrics.top_k([0, 1, 3, -1], probs, 1).correct == 2          # -1: unknown, a miss
    assert metrics.top_k([0, 1, 3, 2], probs, 3).correct == 4


def test_balanced_accuracy_weighs_each_class_once():
    from sklearn.metrics import balanced_accuracy_score

    from helpers.lessons import metrics

    y = np.repeat([0, 1], [900, 100])
    always_0 = metrics.balanced_accuracy(y, np.zeros_like(y))
    assert metrics.accuracy(y, np.zeros_like(y)).value == 0.9 and always_0.value == 0.5
    rng = np.random.default_rng(0)
    pred = np.where(rng.random(y.size) < 0.8, y, 1 - y)
    ba = metrics.balanced_accuracy(y, pred)
    assert ba.value == balanced_accuracy_score(y, pred) and ba.n == 1000
    # the rare class's 100 images dominate the width: wider than a plain interval of 1000
    plain = metrics.accuracy(y, pred)
    assert ba.low < ba.value < ba.high and ba.high - ba.low > plain.high - plain.low
    assert str(metrics.balanced_accuracy([0, 1], [0, 1])) == "1.000 (95% CI 1.000-1.000, n=2)"


def test_mcnemar_counts_disagreements_only():
    from helpers.lessons import metrics

    y = np.array([0, 1, 1, 0, 1, 0, 1, 1, 0, 1] * 3)
    a = y.copy()
    a[:8] = 1 - a[:8]                      # a wrong on 8 photos
    b = y.copy()
    b[7] = 1 - b[7]                        # b wrong on one of those only
    fixed, broken, p = metrics.mcnemar(y, a, b)
    assert (fixed, broken) == (7, 0) and p < 0.05
    assert metrics.mcnemar(y, b, a)[:2] == (0, 7)
    assert metrics.mcnemar(y, a, a) == (0, 0, 1.0)
