"""Pretrained ImageNet backbones as Keras models that take RGB images in 0..255.

Introduced in notebook 01. Every backbone carries its own preprocessing inside
the model (:func:`helpers.models.preprocess.preprocessing`, Keras' own layers), so
callers always feed float RGB pixels in 0..255, and a saved model loads without
the course's code.

``efficientnet_lite0`` (the default), ``efficientnet_lite1`` and
``efficientnet_lite2`` work offline (:mod:`helpers.models.lite`). The other names come
from ``keras.applications`` and need their weights downloaded once (or copied
into ``~/.keras/models``).
"""

from __future__ import annotations

import dataclasses

import keras

from helpers import settings
from helpers.models import jaxconv, lite
from helpers.models.lite import BackboneUnavailableError
from helpers.models.preprocess import preprocessing

__all__ = ["BACKBONES", "BF16_HELPS", "BackboneUnavailableError", "DEFAULT_BACKBONE",
           "available_backbones", "get_backbone", "input_size", "offline_backbones",
           "weights_available"]

DEFAULT_BACKBONE = "efficientnet_lite0"


@dataclasses.dataclass(frozen=True)
class BackboneSpec:
    name: str
    preprocess: str        # mode of preprocess.preprocessing
    features: int          # length of the pooled feature vector
    image_size: int        # the input size it was trained at
    weights_file: str      # the notop weights file keras.applications downloads ("" offline)
    application: str = ""  # the keras.applications class


BACKBONES = {
    **{name: BackboneSpec(name, "lite", 1280, v.image_size, "")
       for name, v in lite.VARIANTS.items()},
    "vgg16": BackboneSpec("vgg16", "caffe", 512, 224,
                          "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5", "VGG16"),
    "vgg19": BackboneSpec("vgg19", "caffe", 512, 224,
                          "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5", "VGG19"),
    "resnet50": BackboneSpec("resnet50", "caffe", 2048, 224,
                             "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5", "ResNet50"),
    "mobilenet_v2": BackboneSpec(
        "mobilenet_v2", "tf", 1280, 224,
        "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5", "MobileNetV2"),
    "efficientnet_b0": BackboneSpec("efficientnet_b0", "none", 1280, 224,
                                    "efficientnetb0_notop.h5", "EfficientNetB0"),
}

# Backbones that mixed_bfloat16 speeds up on a CPU with AVX512-BF16, and not the
# depthwise networks (the Lite family, MobileNetV2) that it slows: chosen from
# `python benchmarks/backbone_throughput.py`, which prints each one's speed-up.
BF16_HELPS = ("vgg16", "vgg19", "resnet50", "efficientnet_b0")


def available_backbones() -> list[str]:
    """The valid backbone names."""
    return list(BACKBONES)


def offline_backbones() -> list[str]:
    """The backbones whose weights ship with the course's packages. Notebook 01."""
    return list(lite.VARIANTS)


def _spec(name: str) -> BackboneSpec:
    try:
        return BACKBONES[name]
    except KeyError:
        raise ValueError(
            f"unknown backbone {name!r}; valid names: {', '.join(BACKBONES)}") from None


def input_size(name: str) -> int:
    """The image size ``name`` was trained at (224, 240 or 260). Notebook 01."""
    return _spec(name).image_size


def weights_available(name: str) -> bool:
    """Whether ``name`` can be built without a download. Notebook 01."""
    spec = _spec(name)
    if name in lite.VARIANTS:
        return True
    return (settings.keras_home() / "models" / spec.weights_file).exists()


def _keras_application(spec, include_top, input_shape, weights="imagenet"):
    cls = getattr(keras.applications, spec.application)
    fname = spec.weights_file if not include_top else spec.weights_file.replace(
        "_notop", "").replace("_no_top", "")
    try:
        base = cls(include_top=include_top, weights=weights,
                   input_shape=input_shape, pooling=None if include_top else "avg")
    except Exception as e:  # keras raises plain Exception on a failed download
        raise BackboneUnavailableError(
            f"could not get the ImageNet weights of {spec.name} ({e.__class__.__name__}: "
            f"{e}). Online, run it once to download them; offline, copy the weights file "
            f"(about {fname}) into {settings.keras_home() / 'models'}/ from a machine that "
            f"has it. {', '.join(lite.VARIANTS)} work offline.") from e
    inputs = keras.Input(shape=input_shape, name="image")
    outputs = base(preprocessing(spec.preprocess)(inputs))
    return keras.Model(inputs, outputs, name=spec.name)


def get_backbone(name: str = DEFAULT_BACKBONE, include_top: bool = False,
                 input_shape=None, weights: str | None = "imagenet",
                 bfloat16: bool = False) -> keras.Model:
    """A pretrained backbone as a ``keras.Model`` on RGB images in 0..255. Notebook 01.

    ``input_shape`` defaults to the backbone's own size (:func:`input_size`).
    ``include_top=True`` gives the 1000 ImageNet probabilities;
    ``include_top=False`` the pooled feature vector (``BACKBONES[name].features``).
    ``weights=None`` gives the same architecture with random weights (training
    from scratch, or timing a backbone whose weights are not here).
    ``bfloat16=True`` computes in mixed bfloat16 (outputs stay float32): faster
    for the backbones in ``BF16_HELPS`` on recent CPUs, slower for the others.
    Unknown names raise ``ValueError`` listing the valid ones; a backbone whose
    weights cannot be had raises :class:`BackboneUnavailableError`.
    """
    spec = _spec(name)
    jaxconv.install()  # on JAX: depthwise convolutions that XLA's CPU runs fast
    if weights not in ("imagenet", None):
        raise ValueError(f"weights must be 'imagenet' or None, not {weights!r}")
    input_shape = tuple(input_shape or (spec.image_size, spec.image_size, 3))
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
    if name not in lite.VARIANTS:
        return _keras_application(spec, include_top, input_shape, weights)
    if weights is None:
        full = lite.build(name, input_shape, include_top=True)
    else:
        full = lite.load(name, input_shape)
    if include_top:
        return full
    return keras.Model(full.input, full.get_layer("avg_pool").output, name=f"{name}_features")


def ensemble(names, image_size=None) -> keras.Model:
    """The mean ImageNet probabilities of several backbones, on one input size
    (default: the first's); each backbone sees the image resized to its own.
    Notebook 03 draws an image against two networks and judges it by a third."""
    image_size = image_size or input_size(names[0])
    inputs = keras.Input(shape=(image_size, image_size, 3), name="image")
    outputs = []
    for name in names:
        size = input_size(name)
        x = inputs if size == image_size else keras.layers.Resizing(size, size)(inputs)
        outputs.append(get_backbone(name, include_top=True)(x))
    mean = keras.layers.Average(name="mean")(outputs) if len(outputs) > 1 else outputs[0]
    model = keras.Model(inputs, mean, name="ensemble_" + "_".join(
        n.replace("efficientnet_", "") for n in names))
    model.trainable = False  # it only judges or is drawn for: no weight needs a gradient
    return model
