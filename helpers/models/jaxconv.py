"""A faster depthwise convolution for Keras on JAX, on a CPU.

XLA's CPU compiler runs a depthwise convolution (``feature_group_count`` equal to
the channels) much slower than TensorFlow or PyTorch do (jax-ml/jax issue #23713,
open). EfficientNet-Lite is built of them, so on JAX the course's
backbones would run several times slower than on TensorFlow. This module gives
Keras' JAX backend the same convolution written as a sum of shifted, per-channel
products, which XLA fuses into one loop: the same numbers (a test compares them),
faster by the factor ``python benchmarks/backends.py`` prints on your machine. It changes nothing on
TensorFlow or PyTorch, nor on a GPU, and saved models keep Keras' own layers.
Installed by ``backbones.get_backbone``; introduced with the backends in README.md.
"""

from __future__ import annotations

_ORIGINAL = None


def depthwise_conv(inputs, kernel, strides=1, padding="valid", data_format=None,
                   dilation_rate=1):
    """Keras' ``depthwise_conv`` for JAX, as shifted products where it can be
    (channels last, no dilation, square strides); otherwise Keras' own."""
    import jax.numpy as jnp
    from jax import lax
    from keras.src import backend

    data_format = backend.standardize_data_format(data_format)
    strides = strides if isinstance(strides, int) else tuple(strides)
    dilation = dilation_rate if isinstance(dilation_rate, int) else tuple(dilation_rate)
    inputs, kernel = jnp.asarray(inputs), jnp.asarray(kernel)
    square = isinstance(strides, int) or len(set(strides)) == 1
    if (data_format != "channels_last" or inputs.ndim != 4 or dilation not in (1, (1, 1))
            or not square or kernel.shape[-1] != 1 or jnp.iscomplexobj(inputs)):
        return _ORIGINAL(inputs, kernel, strides, padding, data_format, dilation_rate)
    step = strides if isinstance(strides, int) else strides[0]
    kh, kw = kernel.shape[:2]
    height, width = inputs.shape[1:3]
    if padding.lower() == "same":
        out_h, out_w = -(-height // step), -(-width // step)
        pad_h = max((out_h - 1) * step + kh - height, 0)
        pad_w = max((out_w - 1) * step + kw - width, 0)
        inputs = jnp.pad(inputs, ((0, 0), (pad_h // 2, pad_h - pad_h // 2),
                                  (pad_w // 2, pad_w - pad_w // 2), (0, 0)))
    else:
        out_h, out_w = (height - kh) // step + 1, (width - kw) // step + 1
    out = None
    for i in range(kh):
        for j in range(kw):
            window = lax.slice(inputs, (0, i, j, 0),
                               (inputs.shape[0], i + (out_h - 1) * step + 1,
                                j + (out_w - 1) * step + 1, inputs.shape[3]),
                               (1, step, step, 1))
            term = window * kernel[i, j, :, 0]
            out = term if out is None else out + term
    return out


def install() -> bool:
    """Use :func:`depthwise_conv` in Keras' JAX backend (once; a no-op on the other
    backends). Returns whether it is in use."""
    global _ORIGINAL
    import keras

    if keras.backend.backend() != "jax":
        return False
    from keras.src.backend.jax import nn

    if _ORIGINAL is None:
        _ORIGINAL = nn.depthwise_conv
        nn.depthwise_conv = depthwise_conv
    return True
