"""One course on every Keras backend (issue #33): the input gradient, the views
and the feature runner give the same numbers on TensorFlow, PyTorch and JAX.

Each backend runs in its own process (Keras picks its backend once, at import).
A backend that is not installed fails here, never skips: ``make test`` installs
all three (requirements-backends.txt).
"""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

BACKENDS = ("tensorflow", "torch", "jax")

pytestmark = pytest.mark.backends

PROBE = r"""
import json, sys
import helpers, keras, numpy as np
from keras import ops
from helpers import settings
from helpers.models import features, jaxconv
from helpers.lessons import gradients, natural, optimize, three_ways
rng = np.random.default_rng(0)
image = rng.uniform(0, 255, (1, 16, 16, 3)).astype("float32")
keras.utils.set_random_seed(0)
model = keras.Sequential([keras.Input((16, 16, 3)), keras.layers.Rescaling(1 / 255),
                          keras.layers.DepthwiseConv2D(3, strides=2, padding="same"),
                          keras.layers.Flatten(), keras.layers.Dense(4, activation="softmax")])
weights = np.load(sys.argv[1], allow_pickle=True)
model.set_weights([weights[k] for k in sorted(weights, key=int)])
jaxconv.install()
view = optimize.random_jitter(np.random.default_rng([0, 1]), 16, 4)[None]
grad, loss, aux = gradients.input_gradient(optimize.dream_loss, model)(image, np.int32(2),
                                                                      np.float32(0.1), view)
adv = optimize.fgsm(model, image[0], 1, epsilon=2.0)
spectrum = rng.normal(0, 0.01, (2, 1, 3, 16, 9)).astype("float32")
nat = ops.convert_to_numpy(natural.spectrum_image(spectrum))
probs = features.feature_extractor(model)(image)
features.cached_features("probe", [sys.argv[2]], image_size=16, model=model, progress=False)
pixels = np.random.default_rng(1).integers(0, 256, (2, 16, 16, 3), dtype="uint8")
three_ways.cached_activations("efficientnet_lite0", pixels, 16, cut="probe", progress=False,
                            bottom=model)
print(json.dumps({"backend": keras.backend.backend(), "loss": float(loss),
                  "grad": ops.convert_to_numpy(grad).ravel().tolist(),
                  "fgsm": adv.ravel().tolist(), "natural": nat.ravel().tolist(),
                  "probs": probs.ravel().tolist()}))
"""


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    import keras

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((16, 16, 3)), keras.layers.Rescaling(1 / 255),
                              keras.layers.DepthwiseConv2D(3, strides=2, padding="same"),
                              keras.layers.Flatten(), keras.layers.Dense(4, activation="softmax")])
    path = tmp_path_factory.mktemp("backends") / "weights.npz"
    np.savez(path, **{str(i): w for i, w in enumerate(model.get_weights())})
    photo = path.parent / "photo.png"     # one file, one date: only the backend differs
    from PIL import Image

    Image.fromarray(np.random.default_rng(2).integers(0, 256, (16, 16, 3), "uint8")).save(photo)
    out = {}
    cache = tmp_path_factory.mktemp("backend-cache")  # one cache for the three backends
    for backend in BACKENDS:
        env = dict(os.environ, KERAS_BACKEND=backend, TL_CACHE_DIR=str(cache))
        res = subprocess.run([sys.executable, "-c", PROBE, str(path), str(photo)], env=env,
                             capture_output=True, text=True, timeout=600)
        assert res.returncode == 0, (
            f"{backend} failed (is it installed? `make setup` installs all three):\n"
            + res.stderr[-3000:])
        out[backend] = json.loads(res.stdout.strip().splitlines()[-1])
        assert out[backend]["backend"] == backend
    for kind in ("features", "activations"):
        out[kind] = sorted(p.name for p in (cache / kind).iterdir())
    return out


@pytest.mark.parametrize("backend", BACKENDS[1:])
@pytest.mark.parametrize("key", ["loss", "grad", "fgsm", "natural", "probs"])
def test_every_backend_computes_what_tensorflow_does(results, backend, key):
    ours, reference = np.asarray(results[backend][key]), np.asarray(results["tensorflow"][key])
    assert ours.shape == reference.shape
    if key == "fgsm":   # a signed step: at most a pixel whose gradient is ~0 may differ
        assert np.mean(ours != reference) < 0.01
    else:
        np.testing.assert_allclose(ours, reference, rtol=1e-3, atol=1e-5 * np.abs(reference).max())
    assert np.abs(np.asarray(results[backend]["grad"])).sum() > 0


@pytest.mark.parametrize("kind", ["features", "activations"])
def test_no_backend_reuses_anothers_cache(results, kind):
    """01's features of one photo file, and 05's activations of the same pixels, cached
    into one folder by the three backends: one entry per backend, so PyTorch and JAX
    compute theirs."""
    names = results[kind]
    assert len(names) == len(BACKENDS), names
    assert all(any(f"-{b}-" in n for n in names) for b in BACKENDS), names


def test_the_fast_jax_depthwise_convolution_is_keras_own():
    """jaxconv's shifted products give Keras' own depthwise convolution's numbers."""
    res = subprocess.run([sys.executable, "-c", r"""
import numpy as np, keras
from keras import ops
from helpers.models import jaxconv
rng = np.random.default_rng(0)
out = []
for stride, padding, k in ((1, "same", 3), (2, "same", 5), (2, "valid", 3)):
    x = rng.normal(size=(2, 15, 15, 8)).astype("float32")
    w = rng.normal(size=(k, k, 8, 1)).astype("float32")
    a = ops.convert_to_numpy(ops.depthwise_conv(x, w, stride, padding))
    jaxconv.install()
    b = ops.convert_to_numpy(ops.depthwise_conv(x, w, stride, padding))
    jaxconv._ORIGINAL and setattr(__import__("keras.src.backend.jax.nn", fromlist=["x"]),
                                  "depthwise_conv", jaxconv._ORIGINAL)
    jaxconv._ORIGINAL = None
    out.append(float(np.abs(a - b).max()))
print(max(out))
"""], env=dict(os.environ, KERAS_BACKEND="jax"), capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    assert float(res.stdout.strip().splitlines()[-1]) < 1e-4
