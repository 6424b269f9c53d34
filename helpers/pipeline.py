"""The tf.data pipeline: read, decode by content, resize, batch, prefetch.

Introduced in notebook 01. Images are streamed from disk and never all held in
memory; augmentation belongs in the model (``train.augmentation``), where it
is active only in training.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf


def _decode_jpeg(data, image_size):
    """Decode a JPEG at 1/2, 1/4 or 1/8 scale (DCT scaling) when its short side stays
    at least ``image_size`` at that scale; otherwise at full size."""
    shape = tf.io.extract_jpeg_shape(data)
    short = tf.minimum(shape[0], shape[1])
    index = tf.constant(0)       # decode at 1 / 2**index of the full size
    for i in (1, 2, 3):
        index = tf.where(short >= (2 ** i) * image_size, i, index)
    return tf.switch_case(index, [
        lambda r=2 ** i: tf.io.decode_jpeg(data, channels=3, ratio=r) for i in range(4)])


def decode_image(path, image_size=224):
    """Read one file and decode it by content (JPEG, PNG, GIF, BMP, whatever its
    extension) as float32 RGB in 0..255, resized to ``image_size``. Used by
    :func:`image_dataset`.

    A JPEG at least twice as large as needed is decoded at reduced scale by the
    JPEG decoder itself (DCT scaling), which is much cheaper than decoding every
    pixel and throwing most away.
    """
    data = tf.io.read_file(path)
    image = tf.cond(
        tf.io.is_jpeg(data),
        lambda: _decode_jpeg(data, image_size),
        lambda: tf.io.decode_image(data, channels=3, expand_animations=False,
                                   dtype=tf.uint8))
    # Bilinear without antialiasing, as keras.utils.image_dataset_from_directory does:
    # antialiasing made the whole pipeline about 30% slower than the model alone.
    image = tf.image.resize(image, (image_size, image_size), method="bilinear")
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
    # One decoding thread is plenty (about 1,000 photos/s against the model's 100)
    # and leaves the cores to the model: on 2 cores, autotuned decoding threads
    # competing with the model's threads made the whole path up to 35% slower.
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
