"""The tf.data pipeline: read, decode, resize, batch, prefetch.

Introduced in notebook 01. Images are streamed from disk and never all held in
memory; each is decoded by :func:`helpers.images.load_image`, the same path a
single photo takes in ``predict`` or the grader. Augmentation belongs in the
model (``train.augmentation``), where it is active only in training.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from helpers.images import load_image


def decode_image(path, image_size=224):
    """Read one file (a string tensor) through :func:`helpers.images.load_image`,
    the course's one decode-and-resize path: float32 RGB in 0..255, upright by its
    EXIF orientation, resized to ``image_size``. Used by :func:`image_dataset`.
    """
    def load(p):
        return load_image(p.decode(), image_size)

    image = tf.numpy_function(load, [path], tf.float32, stateful=False)
    image.set_shape((image_size, image_size, 3))
    return image


def image_dataset(files, labels=None, image_size=224, batch_size=32, shuffle=False,
                  seed=0) -> tf.data.Dataset:
    """A streaming ``tf.data`` pipeline over image files: decode, resize, batch,
    prefetch. With ``labels``, it yields ``(images, labels)``. Notebook 02."""
    files = [str(f) for f in files]
    if labels is None:
        ds = tf.data.Dataset.from_tensor_slices(files)
    else:
        ds = tf.data.Dataset.from_tensor_slices((files, np.asarray(labels)))
    if shuffle:
        ds = ds.shuffle(len(files), seed=seed, reshuffle_each_iteration=True)
    # One decoding thread keeps well ahead of the model (Pillow decodes a 500x375
    # JPEG at reduced scale in about 2 ms) and leaves the cores to the model: on
    # 2 cores, autotuned decoding threads competing with the model's threads made
    # the whole path up to 35% slower.
    if labels is None:
        ds = ds.map(lambda f: decode_image(f, image_size), num_parallel_calls=1)
    else:
        ds = ds.map(lambda f, y: (decode_image(f, image_size), y), num_parallel_calls=1)
    options = tf.data.Options()
    options.threading.private_threadpool_size = 1
    # Two batches ready ahead are enough to overlap decoding with the model.
    return ds.batch(batch_size).prefetch(2).with_options(options)


def load_images(files, image_size=224) -> np.ndarray:
    """A small list of files as one float32 array (for plots and demos). Notebooks
    01-02, the lab."""
    batches = [b.numpy() for b in image_dataset(files, image_size=image_size, batch_size=64)]
    return np.concatenate(batches) if batches else np.zeros((0, image_size, image_size, 3),
                                                            np.float32)
