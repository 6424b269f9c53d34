"""Running a network over image files, and the feature cache.

Introduced in notebook 01: the backbone runs over every photo once, and the
pooled feature vectors are stored under the course cache, keyed by the
backbone, the image size and each file's path, size and modification time.
"""

from __future__ import annotations

import weakref

import keras
import numpy as np

from helpers import cache
from helpers.data.pipeline import image_dataset

# v4: decoded by Pillow, upright (the backend is in each entry's name)
FEATURES_VERSION = "v4"

_EXTRACTORS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def feature_extractor(model):
    """``model`` wrapped for fast inference on any backend: a function from a batch
    of images to a NumPy array, in inference mode, compiled where the backend
    compiles (``tf.function`` on TensorFlow, ``jax.jit`` on JAX; ``torch.no_grad``
    on PyTorch, which runs eagerly).

    ``model.predict`` adds a per-call overhead that counts on the small batches
    of a CPU. The wrapper is made once per model and reused (so it is traced once),
    it reads the model's current weights at every call, and it is forgotten with
    the model. Notebooks 01-02.
    """
    run = _EXTRACTORS.get(model)
    if run is None:
        # The function holds its model by weak reference: a WeakKeyDictionary whose
        # value refers to its key would keep every model alive forever.
        run = _BACKEND_RUNNERS[keras.backend.backend()](weakref.ref(model))
        _EXTRACTORS[model] = run
    return run


def _tensorflow_runner(ref):
    import tensorflow as tf

    compiled = tf.function(lambda images: ref()(images, training=False),
                           reduce_retracing=True)
    return lambda images: compiled(images).numpy()


def _jax_runner(ref):
    import jax

    # stateless: the weights are arguments, so a fine-tuned model is never stale
    compiled = jax.jit(lambda trainable, frozen, images: ref().stateless_call(
        trainable, frozen, images, training=False)[0])

    def run(images):
        model = ref()
        return np.asarray(compiled([v.value for v in model.trainable_variables],
                                   [v.value for v in model.non_trainable_variables],
                                   keras.ops.convert_to_numpy(images)))
    return run


def _torch_runner(ref):
    import torch

    def run(images):
        with torch.no_grad():
            return keras.ops.convert_to_numpy(ref()(images, training=False))
    return run


_BACKEND_RUNNERS = {"tensorflow": _tensorflow_runner, "jax": _jax_runner,
                    "torch": _torch_runner}


def slices(x, batch_size: int, prepare=None):
    """``x`` in consecutive slices of ``batch_size``, each through ``prepare`` when
    given (a generator: one slice in memory at a time). Notebook 05's arrays."""
    for start in range(0, len(x), batch_size):
        batch = x[start:start + batch_size]
        yield prepare(batch) if prepare else batch


def run_in_batches(model, batches, total=None, progress=False, desc="batches") -> np.ndarray:
    """``model`` in inference mode (:func:`feature_extractor`) over an iterable of
    batches (a tf.data pipeline, or :func:`slices` of an array), the outputs stacked;
    a progress bar of ``total`` batches when asked. The course's one batch loop:
    notebooks 01 (photos) and 05 (arrays)."""
    run = feature_extractor(model)
    if progress:
        from tqdm.auto import tqdm

        batches = tqdm(batches, total=total, desc=desc, unit="batch", leave=False)
    out = [run(batch) for batch in batches]
    if not out:
        return np.zeros((0,) + tuple(model.output.shape[1:]), dtype="float32")
    return np.concatenate(out)


def extract_features(model, files, image_size=224, batch_size=32, progress=True) -> np.ndarray:
    """Run ``model`` over image files through the tf.data pipeline and return the
    stacked outputs (features, or class probabilities for a classifier). Used by
    :func:`cached_features` and ``train.evaluate_probs``."""
    ds = image_dataset(files, image_size=image_size, batch_size=batch_size).as_numpy_iterator()
    return run_in_batches(model, ds, total=-(-len(files) // batch_size), progress=progress,
                          desc="features")


def cached_features(backbone_name, files, image_size=None, batch_size=32, model=None,
                    progress=True, bfloat16=False) -> np.ndarray:
    """Pooled backbone features of ``files``, computed once and stored under the
    course cache (``image_size`` defaults to the backbone's own). ``bfloat16``
    computes them in mixed bfloat16 (see ``backbones.BF16_HELPS``). Change the
    backbone, the size or any file and the cache is rebuilt. Notebooks 01, 02, 04,
    the lab.
    """
    from helpers.models.backbones import get_backbone, input_size

    image_size = image_size or input_size(backbone_name)
    files = [str(f) for f in files]
    tag = backbone_name + ("-bf16" if bfloat16 else "")
    path = cache.entry("features", f"{tag}-{image_size}-{keras.backend.backend()}",
                       FEATURES_VERSION, files=files)
    saved = cache.load(path)              # None: not extracted yet, or damaged
    if saved is not None and len(saved["features"]) == len(files):
        return saved["features"]          # extracted before: read from disk
    if model is None:
        model = get_backbone(backbone_name, include_top=False,
                             input_shape=(image_size, image_size, 3), bfloat16=bfloat16)
    features = extract_features(model, files, image_size, batch_size, progress)
    cache.save(path, {"features": features})
    return features
