"""The tf.data pipeline: read, decode, resize, batch, prefetch.

Introduced in notebook 01. Images are streamed from disk and never all held in
memory; each is decoded by :func:`helpers.data.images.load_image`, the same path a
single photo takes in ``predict`` or the grader. Augmentation belongs in the
model (``train.augmentation``), where it is active only in training.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from helpers.data.images import load_image

RAM_BUDGET = 512 * 2**20   # bytes tf.data's autotuning may buffer per pipeline


def decode_image(path, image_size=224):
    """Read one file (a string tensor) through :func:`helpers.data.images.load_image`,
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
    # Decoding threads and the prefetch buffer are left to tf.data's autotuning, in
    # file order. On 2 cores, timed in interleaved chunks beside the model alone
    # (benchmarks/pipeline_throughput.py), that kept 0.86-0.87 of the model's speed,
    # against 0.72-0.82 for one dedicated decoding thread, which the model's threads
    # starve. The RAM budget bounds what autotuning may buffer.
    if labels is None:
        ds = ds.map(lambda f: decode_image(f, image_size), num_parallel_calls=tf.data.AUTOTUNE)
    else:
        ds = ds.map(lambda f, y: (decode_image(f, image_size), y),
                    num_parallel_calls=tf.data.AUTOTUNE)
    options = tf.data.Options()
    options.autotune.ram_budget = RAM_BUDGET
    return ds.batch(batch_size).prefetch(tf.data.AUTOTUNE).with_options(options)


def load_images(files, image_size=224) -> np.ndarray:
    """A small list of files as one float32 array (for plots and demos). Notebooks
    01-02, the lab."""
    batches = [b.numpy() for b in image_dataset(files, image_size=image_size, batch_size=64)]
    return np.concatenate(batches) if batches else np.zeros((0, image_size, image_size, 3),
                                                            np.float32)
