"""Helpers for the transfer-learning course (see README.md).

Modules, in the order the notebooks meet them:

* ``settings``: every ``TL_*`` environment variable, the cache and output paths;
* ``sources``, ``folders``, ``pipeline``, ``features``: where datasets come from,
  checking and splitting folders of photos, the tf.data pipeline, the feature cache;
* ``preprocess``, ``lite``, ``backbones``: pretrained networks (EfficientNet-Lite0/1/2
  offline, keras.applications with their weights);
* ``labels``, ``images``, ``plots``, ``metrics``, ``train``: ImageNet class names,
  single images, figures, accuracy with its interval, heads and fine-tuning;
* ``lessons``: the setups several notebooks share;
* ``optimize``: the input optimiser (notebooks 03-04);
* ``grade``: the lab's grader; ``cli``: ``python -m helpers``.
"""

import logging
import os
import sys
import tempfile

# oneDNN doubles CPU speed; naming it explicitly keeps it on whatever TF's default.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def _import_tensorflow_quietly() -> None:
    """Import TensorFlow with its C++ start-up notices (absl's "All log messages
    before absl::InitializeLog()" and the oneDNN notice, written straight to the
    process's stderr) kept out of the notebooks. This is the one place the course
    silences anything (with the retracing notice below); if the import fails, what
    it wrote is shown with the error.
    """
    if "tensorflow" in sys.modules:
        return
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):
        import tensorflow  # noqa: F401  (no file descriptor to redirect)
        return
    with tempfile.TemporaryFile() as log:
        os.dup2(log.fileno(), 2)
        try:
            import tensorflow  # noqa: F401
        except BaseException:
            os.dup2(saved, 2)
            log.seek(0)
            sys.stderr.write(log.read().decode(errors="replace"))
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)


class _NoRetracingNotice:
    """Drops TensorFlow's "triggered tf.function retracing" warning: the course traces
    one function per model on purpose (``features.feature_extractor``), which that
    warning's heuristic counts as a loop. Nothing a student can act on."""

    def filter(self, record) -> bool:
        return "triggered tf.function retracing" not in record.getMessage()


_import_tensorflow_quietly()
logging.getLogger("tensorflow").addFilter(_NoRetracingNotice())

__version__ = "0.2.0"
