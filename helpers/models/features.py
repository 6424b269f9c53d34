"""Running a network over image files, and the feature cache.

Introduced in notebook 01: the backbone runs over every photo once, and the
pooled feature vectors are stored under the course cache, keyed by the
backbone, the image size and each file's path, size and modification time.
"""

from __future__ import annotations

import hashlib
import os
import weakref

import keras
import numpy as np

from helpers import settings
from helpers.data.pipeline import image_dataset

_EXTRACTORS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def feature_extractor(model):
    """``model`` wrapped for fast inference on any backend: a function from a batch
    of images to a NumPy array, in inference mode, compiled where the backend
    compiles (``tf.function`` on TensorFlow, ``jax.jit`` on JAX; ``torch.no_grad``
    on PyTorch, which runs eagerly).

    ``model.predict`` on small batches loses 10-30% to its per-call overhead on a
    CPU. The wrapper is made once per model and reused (so it is traced once),
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


def extract_features(model, files, image_size=224, batch_size=32, progress=True) -> np.ndarray:
    """Run ``model`` over image files through the tf.data pipeline and return the
    stacked outputs (features, or class probabilities for a classifier). Used by
    :func:`cached_features` and ``train.evaluate_probs``."""
    run = feature_extractor(model)
    ds = image_dataset(files, image_size=image_size, batch_size=batch_size).as_numpy_iterator()
    if progress:
        from tqdm.auto import tqdm

        ds = tqdm(ds, total=-(-len(files) // batch_size), desc="features", unit="batch",
                  leave=False)
    out = [run(batch) for batch in ds]
    if not out:
        return np.zeros((0,) + tuple(model.output.shape[1:]), dtype="float32")
    return np.concatenate(out)


def _features_key(backbone_name, image_size, files) -> str:
    h = hashlib.sha256()
    # v4: decoded by Pillow, upright; the backend too, so no backend reuses another's
    h.update(f"{backbone_name}|{image_size}|v4|{keras.backend.backend()}".encode())
    for f in files:
        st = os.stat(f)
        h.update(f"{f}|{st.st_size}|{st.st_mtime_ns}\n".encode())
    return h.hexdigest()


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
    path, key = feature_cache_path(tag, image_size, files)
    features = read_cache(path, key, len(files))
    if features is not None:          # extracted before: read from disk, not recomputed
        return features
    if model is None:
        model = get_backbone(backbone_name, include_top=False,
                             input_shape=(image_size, image_size, 3), bfloat16=bfloat16)
    features = extract_features(model, files, image_size, batch_size, progress)
    write_cache(path, key, features)
    return features


def feature_cache_path(tag, image_size, files):
    """``(path, key)``: where the features of ``files`` are cached, and the key (the
    backbone, the size, the backend and each file's path, size and date) that says
    whether a cached file is still theirs. Notebook 01's plumbing."""
    key = _features_key(tag, image_size, files)
    path = (settings.cache_dir() / "features"
            / f"{tag}-{image_size}-{keras.backend.backend()}-{key[:20]}.npz")
    return path, key


def read_cache(path, key, n):
    """The cached features at ``path`` if they are ``n`` rows under ``key``, else None
    (a damaged file is reported and computed again). Notebook 01's plumbing."""
    if not path.exists():
        return None
    try:
        with np.load(path) as saved:
            if str(saved["key"]) == key and saved["features"].shape[0] == n:
                return saved["features"]
    except (OSError, ValueError, KeyError, EOFError) as e:
        print(f"note: cached features {path.name} are damaged ({e.__class__.__name__}); "
              "computing them again")
    return None


def write_cache(path, key, features) -> None:
    """Store ``features`` at ``path`` under ``key`` (atomically; a failure is only
    reported). Notebook 01's plumbing."""
    try:
        settings.atomic_write(path, lambda tmp: np.savez(tmp, features=features,
                                                         key=np.array(key)))
    except OSError as e:
        print(f"note: could not cache the features in {path} ({e})")
