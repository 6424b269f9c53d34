"""Pretrained networks in Keras' own layers and what they output.

* ``preprocess``, ``lite``, ``torch_pickle``, ``backbones``: EfficientNet-Lite0/1/2
  from their PyTorch weights (read without PyTorch), ``keras.applications``;
* ``jaxconv``: a depthwise convolution XLA's CPU runs fast (Keras on JAX);
* ``features``: running a network over photos, the feature cache;
* ``labels``: the ImageNet class names.
"""
