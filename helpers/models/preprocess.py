"""The preprocessing every course backbone starts with, in Keras' own layers.

Introduced in notebook 01. Every backbone takes RGB pixels in 0..255 and does
its own preprocessing inside the model, so a saved classifier needs nothing
but a photo. :func:`preprocessing` builds it from Keras' own layers only, so a
saved ``.keras`` file loads with plain ``keras.models.load_model``, with no
course code installed (and the grader, which refuses custom layers, grades it).
"""

from __future__ import annotations

import keras
import numpy as np

MODES = ("lite", "caffe", "tf", "none")
_CAFFE_MEAN = (103.939, 116.779, 123.68)   # BGR


def preprocessing(mode: str, name: str = "preprocess") -> keras.layers.Layer:
    """Pixels in 0..255 to what a backbone expects, as a Keras layer. Notebook 01.

    ``lite``: (x - 127) / 128 (EfficientNet-Lite); ``tf``: x / 127.5 - 1
    (MobileNetV2); ``caffe``: RGB to BGR minus the ImageNet mean (VGG, ResNet50),
    a frozen 1x1 linear map; ``none``: EfficientNetB0 normalises inside.
    """
    if mode == "lite":
        return keras.layers.Rescaling(1 / 128, offset=-127 / 128, name=name)
    if mode == "tf":
        return keras.layers.Rescaling(1 / 127.5, offset=-1.0, name=name)
    if mode == "none":
        return keras.layers.Identity(name=name)
    if mode == "caffe":
        swap = np.eye(3, dtype="float32")[::-1]          # RGB -> BGR
        layer = keras.layers.Dense(
            3, name=name, trainable=False,
            kernel_initializer=keras.initializers.Constant(swap),
            bias_initializer=keras.initializers.Constant(-np.array(_CAFFE_MEAN, "float32")))
        return layer
    raise ValueError(f"unknown preprocessing mode {mode!r}; use one of {MODES}")
