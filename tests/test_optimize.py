import json
import subprocess
import sys

import numpy as np
import pytest
import skimage.data
import tensorflow as tf

from helpers.lessons import optimize
from helpers.data.images import load_image, resize_array
from helpers.models.labels import DOG_CLASSES


def test_loss_falls_and_probability_rises(classifier):
    result = optimize.draw(classifier, 340, steps=25, learning_rate=2.0, seed=1)
    loss = result.history["loss"]
    assert np.mean(loss[-5:]) < 0.5 * np.mean(loss[:5])
    assert result.history["prob"][-1] > result.history["prob"][0]
    assert result.image.min() >= 0 and result.image.max() <= 255


def test_larger_tv_weight_gives_smoother_image(classifier):
    rough = optimize.draw(classifier, 281, steps=30, tv_weight=0.0, seed=3)
    smooth = optimize.draw(classifier, 281, steps=30, tv_weight=0.3, seed=3)
    tv = lambda r: float(tf.reduce_sum(tf.image.total_variation(tf.constant(r.image))))
    assert tv(smooth) < 0.5 * tv(rough)


def test_seeded_runs_repeat(classifier):
    a = optimize.draw(classifier, 281, steps=5, jitter=8, seed=7)
    b = optimize.draw(classifier, 281, steps=5, jitter=8, seed=7)
    np.testing.assert_allclose(a.image, b.image, atol=1e-3)


def test_linf_bound_holds_exactly_and_attack_flips(classifier):
    chelsea = np.round(resize_array(skimage.data.chelsea()))
    result = optimize.attack(classifier, chelsea, target=207, epsilon=2.0, steps=30)
    assert np.abs(result.image - chelsea).max() <= 2.0
    assert np.all(result.image == np.round(result.image))
    assert int(classifier(result.image[None]).numpy().argmax()) == 207  # golden retriever
    assert result.history["prob"][-1] >= 0.9 > result.history["prob"][0]


def test_fgsm_is_one_signed_step_of_epsilon(classifier):
    chelsea = np.round(resize_array(skimage.data.chelsea()))
    adversarial = optimize.fgsm(classifier, chelsea, target=207, epsilon=2.0)
    change = np.abs(adversarial - chelsea)
    assert change.max() == 2.0 and np.mean(change == 2.0) > 0.5   # most pixels move by epsilon
    assert adversarial.min() >= 0 and adversarial.max() <= 255


def test_snapshots_for_the_loop_figure(classifier):
    result = optimize.draw(classifier, 281, steps=6, snapshot_every=3)
    assert [s for s, _ in result.snapshots] == [0, 3, 6]


@pytest.mark.parametrize("text,value", [("2/255", 2.0), ("1/255", 1.0), ("4", 4.0)])
def test_parse_epsilon(text, value):
    assert optimize.parse_epsilon(text) == value


def test_parse_epsilon_rejects_nonsense():
    with pytest.raises(ValueError, match="2/255"):
        optimize.parse_epsilon("two")


def run(*args):
    return subprocess.run([sys.executable, "-m", "helpers", *args],
                          capture_output=True, text=True, timeout=600)


def test_attack_command_on_a_dog(samples, tmp_path):
    out = tmp_path / "adv.png"
    res = run("attack", str(samples / "dog.jpg"), "--target", "tabby", "--eps", "2/255",
              "--out", str(out), "--json")
    assert res.returncode == 0, res.stderr
    report = json.loads(res.stdout)
    assert report["original"]["index"] in DOG_CLASSES
    assert report["success"] and report["adversarial"]["index"] == 281
    assert report["linf"] <= 2.0
    saved = load_image(out, size=None)                       # the file is really there
    original = np.round(load_image(samples / "dog.jpg"))
    assert np.abs(saved - original).max() <= 2.0


def test_dream_command_short(tmp_path):
    out = tmp_path / "zebra.png"
    res = run("dream", "zebra", "--out", str(out), "--steps", "40", "--drawn-by", "lite0",
              "--json")
    assert res.returncode == 0, res.stderr
    report = json.loads(res.stdout)
    assert report["class"] == {"index": 340, "label": "zebra"}
    assert report["recipe"] == "spectrum" and report["drawn_by"] == ["efficientnet_lite0"]
    assert report["aimed_at"] == ["zebra"]
    assert 0 <= report["robust_prob"] <= 1 and report["prob"] > 0.5
    assert out.exists()


@pytest.mark.slow
def test_dream_command_tabby_aims_at_any_cat_and_keeps_the_old_recipe(tmp_path):
    res = run("dream", "tabby", "--out", str(tmp_path / "cat.png"), "--steps", "30", "--json")
    assert res.returncode == 0, res.stderr
    report = json.loads(res.stdout)
    assert len(report["aimed_at"]) == 5 and report["aimed_at"][0] == "tabby"
    assert report["drawn_by"] == ["efficientnet_lite0", "efficientnet_lite1"]   # the default
    assert report["prob_aimed"] > 0.5 and report["prob_aimed"] >= report["prob"]
    res = run("dream", "tabby", "--out", str(tmp_path / "old.png"), "--steps", "30",
              "--recipe", "tv-jitter", "--json")
    assert res.returncode == 0, res.stderr
    report = json.loads(res.stdout)
    assert report["recipe"] == "tv-jitter" and report["aimed_at"] == ["tabby"]
    assert (tmp_path / "old.png").exists()


def test_commands_reject_unknown_class_and_bad_image(tmp_path):
    res = run("dream", "tabbby", "--out", str(tmp_path / "x.png"))
    assert res.returncode == 2 and "tabby" in res.stderr
    bad = tmp_path / "bad.jpg"
    bad.write_text("nope")
    res = run("attack", str(bad), "--target", "tabby", "--out", str(tmp_path / "y.png"))
    assert res.returncode == 2 and "bad.jpg" in res.stderr
    assert not (tmp_path / "y.png").exists()


def test_the_step_is_made_once_per_model_and_loss_not_per_call():
    import keras

    from helpers.lessons import gradients

    model = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Flatten(),
                              keras.layers.Dense(3, activation="softmax")])
    for target in (0, 1, 2):
        optimize.attack(model, np.full((8, 8, 3), 127.0, np.float32), target, steps=3)
    for tv_weight in (0.0, 0.5):
        result = optimize.draw(model, 1, steps=3, tv_weight=tv_weight, size=8)
    assert len(result.history["loss"]) == 3
    made = [gradients.input_gradient(loss, model)
            for loss in (optimize.attack_loss, optimize.dream_loss)]
    assert made[0] is gradients.input_gradient(optimize.attack_loss, model)  # made once
    if keras.backend.backend() == "tensorflow":   # and each traced once
        assert [step.experimental_get_tracing_count() for step in made] == [1, 1]


def test_a_model_no_longer_used_is_freed_with_its_steps():
    """The steps are kept per model, weakly: a notebook that builds model after model
    does not keep every one of them alive."""
    import gc
    import weakref

    import keras

    from helpers.lessons import gradients

    model = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Flatten(),
                              keras.layers.Dense(3, activation="softmax")])
    optimize.attack(model, np.full((8, 8, 3), 127.0, np.float32), 1, steps=2)
    alive = weakref.ref(model)
    assert model in gradients._STEPS
    del model
    gc.collect()
    assert alive() is None


def test_jitter_transform_matches_keras_affine_transform_and_is_seeded():
    from keras import ops

    rng = np.random.default_rng(0)
    images = rng.uniform(0, 255, (3, 16, 16, 3)).astype("float32")
    transforms = np.stack([optimize.random_jitter(np.random.default_rng([5, i]), 16, 4,
                                                  max_degrees=10) for i in range(3)])
    ours = ops.convert_to_numpy(optimize.jitter_transform(images, transforms))
    # the reference: SciPy's bilinear sampling at the points each transform names
    from scipy.ndimage import map_coordinates

    ys, xs = np.mgrid[0:16, 0:16].astype("float64")
    reference = np.stack([np.stack([map_coordinates(
        image[..., c], [t[3] * xs + t[4] * ys + t[5], t[0] * xs + t[1] * ys + t[2]],
        order=1, mode="grid-wrap") for c in range(3)], -1)
        for image, t in zip(images, transforms)])
    np.testing.assert_allclose(ours, reference, atol=1e-3)
    again = optimize.random_jitter(np.random.default_rng([5, 0]), 16, 4, max_degrees=10)
    np.testing.assert_array_equal(again, transforms[0])
    assert not np.array_equal(transforms[0], transforms[1])
