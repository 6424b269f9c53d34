"""Helpers for the transfer-learning course (see README.md).

The packages, from the bottom up (``tests/test_layering.py`` keeps the order):

* ``settings``: every ``TL_*`` environment variable, the cache and output paths;
  ``cache``: the one disk cache (features, arrays, activations, scans, splits,
  converted weights); ``console``: how a command says an error;
* ``data``: datasets, folders of photos, the decode path, the tf.data pipeline,
  notebook 05's domains;
* ``models``: pretrained networks in Keras' own layers, features, ImageNet labels;
* ``lessons``: what the notebooks teach (their ``#@save`` cells), metrics, plots,
  self-checks, your own photos;
* ``grader``: the lab's grader;
* ``course``: the course runner, the slides, ``python -m helpers save``;
* ``cli``: ``python -m helpers``, its arguments only (each command's work lives in
  the ``commands`` module of the package it serves).
"""

import importlib.abc
import importlib.util
import logging
import os
import sys
import tempfile

# oneDNN doubles CPU speed; naming it explicitly keeps it on whatever TF's default.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def _quietly(run) -> None:
    """Run ``run()`` (TensorFlow's import) with the process's stderr caught. TF's
    C++ start-up notices (absl's "All log messages before absl::InitializeLog()"
    and the oneDNN notice) are written straight to file descriptor 2, past Python,
    so they would land in every notebook's first cell. This is the one place the
    course silences anything (with the retracing notice below); if the import
    fails, what it wrote is shown with the error.
    """
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):
        run()  # no file descriptor to redirect
        return
    with tempfile.TemporaryFile() as log:
        os.dup2(log.fileno(), 2)
        try:
            run()
        except BaseException:
            os.dup2(saved, 2)
            log.seek(0)
            sys.stderr.write(log.read().decode(errors="replace"))
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)


class _QuietTensorFlowImport(importlib.abc.MetaPathFinder):
    """Makes the first ``import tensorflow`` (direct, or through keras) quiet, when
    it happens: importing ``helpers`` itself stays fast (``python -m helpers
    --help`` needs no TensorFlow)."""

    _busy = False

    def find_spec(self, name, path=None, target=None):
        if name != "tensorflow" or self._busy:
            return None
        # Keras on PyTorch or JAX looks TensorFlow up (find_spec) long before it
        # imports it, so the finder stays until the import itself runs.
        self._busy = True
        try:
            spec = importlib.util.find_spec(name)  # the real finders do the work
        finally:
            self._busy = False
        if spec is not None and spec.loader is not None:
            loader, finder = spec.loader, self

            class QuietLoader:
                def create_module(self, spec):
                    return loader.create_module(spec)

                def exec_module(self, module):
                    if finder in sys.meta_path:
                        sys.meta_path.remove(finder)  # once
                    _quietly(lambda: loader.exec_module(module))

                def __getattr__(self, name):  # everything else: the real loader
                    return getattr(loader, name)

            spec.loader = QuietLoader()
        return spec


class _NoRetracingNotice:
    """Drops TensorFlow's "triggered tf.function retracing" warning: the course traces
    one function per model on purpose (``features.feature_extractor``), which that
    warning's heuristic counts as a loop. Nothing a student can act on."""

    def filter(self, record) -> bool:
        return "triggered tf.function retracing" not in record.getMessage()


if "tensorflow" not in sys.modules and not any(
        isinstance(finder, _QuietTensorFlowImport) for finder in sys.meta_path):
    sys.meta_path.insert(0, _QuietTensorFlowImport())
logging.getLogger("tensorflow").addFilter(_NoRetracingNotice())

__version__ = "0.2.0"
