"""Helpers for the transfer-learning course (see README.md).

Modules: ``backbones`` (pretrained networks, notebook 01), ``labels``
(ImageNet class names, notebook 01), ``images`` (reading any image, notebook 01),
``data`` (datasets and pipelines, notebook 01), ``train`` (heads and
fine-tuning, notebooks 01-02), ``optimize`` (the input optimiser, notebooks
03-04), ``plots``, ``grade`` (the lab's grader) and ``cli`` (``python -m helpers``).
"""

import os

# TensorFlow's C++ start-up chatter hides the course's own output.
# oneDNN doubles CPU speed; naming it explicitly also silences TF's notice about it.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")

__version__ = "0.1.0"
