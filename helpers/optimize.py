"""Optimise an input image toward a target class: the "ideal cat" (notebook 03)
and the adversarial dog (notebook 04) are the same loop, with other steps.

The functions marked "notebook 03's cell" or "notebook 04's cell" below are those
notebooks' `#@save` cells word for word (tests/test_one_source.py fails when they
differ): the lesson is written out there, and the `dream` and `attack` commands
reuse it from here. The rest is the course's judging: views of an image the
optimiser never saw (:func:`robust_probability`), and the seeded start.

Images are float RGB in 0..255. Everything random is seeded. Each loop's step is a
``tf.function`` that takes the model as an argument: it is traced once per model
and shape, not once per call.
"""

from __future__ import annotations

import dataclasses
import math
import time

import keras
import numpy as np
import tensorflow as tf

from helpers.features import feature_extractor


@dataclasses.dataclass
class OptimizeResult:
    image: np.ndarray                       # (H, W, 3) float32 in 0..255
    history: dict                           # "loss", "prob", "tv": one value per step
    snapshots: list                         # [(step, image)] when snapshot_every is set
    seconds: float
    steps: int


# Notebook 03's cell, word for word.

def jitter_transform(images, max_shift, scale_range=(0.85, 1.15), flip=True, seed=None):
    """Random shift (up to ``max_shift`` px, wrapping), rescale and horizontal flip,
    all differentiable. ``seed`` is a stateless seed pair. Notebook 03."""
    size = images.shape[1]
    seed = tf.convert_to_tensor(seed if seed is not None else [0, 0], tf.int32)
    s1, s2, s3, s4 = (seed + k for k in range(4))
    if max_shift:
        dy = tf.random.stateless_uniform([], s1, -max_shift, max_shift + 1, tf.int32)
        dx = tf.random.stateless_uniform([], s2, -max_shift, max_shift + 1, tf.int32)
        images = tf.roll(images, shift=[dy, dx], axis=[1, 2])
    if scale_range is not None:
        scale = tf.random.stateless_uniform([], s3, scale_range[0], scale_range[1])
        new = tf.cast(tf.round(scale * size), tf.int32)
        images = tf.image.resize(images, [new, new])
        images = tf.image.resize_with_crop_or_pad(images, size, size)
    if flip:
        do_flip = tf.random.stateless_uniform([], s4) < 0.5
        images = tf.cond(do_flip, lambda: tf.reverse(images, axis=[2]), lambda: images)
    return images


JUDGE_SEED = 1_000_003   # the first half of every judging seed: the optimiser never uses it


def rotate(images, degrees):
    """Rotate a batch about its centre by ``degrees`` (bilinear, edges reflected). Notebook 03."""
    angle = math.radians(float(degrees))
    size = float(images.shape[1])
    c, s = math.cos(angle), math.sin(angle)
    centre = (size - 1) / 2
    # output (x, y) samples input (c*x - s*y + a, s*x + c*y + b): a rotation about the centre
    a = centre - c * centre + s * centre
    b = centre - s * centre - c * centre
    transform = tf.constant([[c, -s, a, s, c, b, 0.0, 0.0]], tf.float32)
    return tf.raw_ops.ImageProjectiveTransformV3(
        images=images, transforms=tf.repeat(transform, tf.shape(images)[0], axis=0),
        output_shape=tf.shape(images)[1:3], fill_value=0.0, interpolation="BILINEAR",
        fill_mode="REFLECT")


def robust_probability(model, image, target, n=32, max_shift=16, scale_range=(0.85, 1.15),
                       max_degrees=10.0, seed=0) -> float:
    """Mean p(target) over ``n`` views of ``image`` that no optimisation saw: random
    shifts, rescales, flips and rotations (up to ``max_degrees``).

    ``target`` is a class index or a list of them (``labels.CAT_CLASSES``: any
    cat), whose probabilities are summed. ``model`` may take another input size
    (Lite1, Lite2): the views are resized to it. A high probability on one exact image proves little (noise can reach
    p = 1.00); one that survives such small changes means the network really
    sees the class. The views are drawn from seeds ``[JUDGE_SEED + seed, i]``,
    a stream the optimiser (seeds ``[seed, step]``) never draws from, and the
    optimiser never rotates: the image is judged on views it was not made for.
    Notebook 03.
    """
    x = tf.convert_to_tensor(np.asarray(image, np.float32)[None])
    size = x.shape[1]
    rng = np.random.default_rng([JUDGE_SEED, seed])
    views = []
    for i in range(n):
        view = jitter_transform(x, max_shift, scale_range, True, [JUDGE_SEED + seed, i])
        views.append(rotate(view, rng.uniform(-max_degrees, max_degrees)) if max_degrees else view)
    batch = tf.clip_by_value(tf.concat(views, axis=0), 0.0, 255.0)
    model_size = model.input_shape[1]
    if model_size and model_size != size:       # another network, at its own input size
        batch = tf.image.resize(batch, (model_size, model_size))
    probs = feature_extractor(model)(batch)  # compiled: several times faster than model(batch)
    classes = np.atleast_1d(np.asarray(target, dtype=np.int32))   # one class, or a group
    return float(tf.reduce_mean(tf.reduce_sum(tf.gather(probs, classes, axis=1), axis=1)))


def random_start(size=224, seed=0, spread=20.0) -> np.ndarray:
    """Grey noise to start a visualisation from (seeded). Notebook 03."""
    rng = np.random.default_rng(seed)
    return np.clip(127.5 + rng.normal(0.0, spread, (size, size, 3)), 0, 255).astype(np.float32)


# Notebook 03's cells, word for word.

@tf.function
def loss_and_gradient(model, image, target, tv_weight, jitter, seed):
    """Cross-entropy to ``target`` plus ``tv_weight`` x total variation per pixel,
    and its gradient with respect to the image. With ``jitter`` > 0 the network
    sees a randomly shifted, rescaled and flipped view. Notebook 03."""
    with tf.GradientTape() as tape:
        tape.watch(image)
        view = jitter_transform(image, jitter, seed=seed) if jitter else image
        p = tf.gather(model(view, training=False)[0], target)
        pixels = image.shape[1] * image.shape[2]
        tv = tf.reduce_sum(tf.image.total_variation(image)) / pixels
        loss = -tf.math.log(p + 1e-12) + tv_weight * tv
    return tape.gradient(loss, image), loss, p, tv


def draw(model, target, steps=300, tv_weight=0.0, jitter=0, learning_rate=2.0, seed=0,
         size=224, snapshot_every=None):
    """Optimise an image from seeded grey noise toward class ``target``: Adam steps
    on the pixels, the step size decayed along a cosine to a tenth. Notebook 03."""
    image = tf.Variable(random_start(size, seed)[None])   # the pixels are the weights now
    schedule = keras.optimizers.schedules.CosineDecay(learning_rate, steps, alpha=0.1)
    optimizer = keras.optimizers.Adam(schedule)
    history, snapshots = {"loss": [], "prob": [], "tv": []}, []
    start = time.perf_counter()
    for i in range(steps):
        if snapshot_every and i % snapshot_every == 0:
            snapshots.append((i, image[0].numpy()))
        # tensors, not Python numbers: the step is traced once, not once per value
        grad, loss, p, tv = loss_and_gradient(
            model, image, tf.constant(target), tf.constant(tv_weight, tf.float32), jitter,
            tf.constant([seed, i]))
        optimizer.apply_gradients([(grad, image)])
        image.assign(tf.clip_by_value(image, 0.0, 255.0))   # pixels stay in 0..255
        for key, value in zip(history, (loss, p, tv)):
            history[key].append(float(value))
    if snapshot_every:
        snapshots.append((steps, image[0].numpy()))
    return OptimizeResult(image[0].numpy(), history, snapshots,
                          time.perf_counter() - start, steps)


# Notebook 04's cells, word for word.

@tf.function
def attack_step(model, image, original, target, epsilon, step_size):
    """One step of the attack: a signed gradient step toward ``target``, then back
    into the box of +-epsilon around ``original`` and into 0..255. The network sees
    the image rounded to 8 bits. Returns p(target) before the step. Notebook 04."""
    with tf.GradientTape() as tape:
        tape.watch(image)
        rounded = image + tf.stop_gradient(tf.round(image) - image)  # what a PNG stores
        p = tf.gather(model(rounded, training=False)[0], target)
        loss = -tf.math.log(p + 1e-12)
    image.assign_sub(step_size * tf.sign(tape.gradient(loss, image)))
    image.assign(tf.clip_by_value(image, original - epsilon, original + epsilon))
    image.assign(tf.clip_by_value(image, 0.0, 255.0))
    return p


def attack(model, image, target, epsilon=2.0, steps=20, step_size=None, stop_at=0.9):
    """A targeted iterative attack within ``epsilon`` (0..255 units) of ``image``,
    steps of ``step_size`` (default epsilon / 4); it stops once p(target) on the
    8-bit image reaches ``stop_at``. Notebook 04."""
    original = tf.constant(np.round(image)[None], tf.float32)
    adversarial = tf.Variable(original)
    step_size = step_size or max(epsilon / 4, 0.25)
    start, probs = time.perf_counter(), []
    for i in range(steps):
        before = adversarial.numpy()
        p = attack_step(model, adversarial, original, tf.constant(target),
                        tf.constant(epsilon, tf.float32), tf.constant(step_size, tf.float32))
        probs.append(float(p))
        if probs[-1] >= stop_at:          # p was measured before the step: keep that image
            adversarial.assign(before)
            break
    image = np.round(adversarial[0].numpy())
    return OptimizeResult(image, {"prob": probs}, [], time.perf_counter() - start, len(probs))


def fgsm(model, image, target, epsilon=2.0):
    """The fast gradient sign method: one step of the attack, of size epsilon.
    Notebook 04."""
    original = tf.constant(np.round(image)[None], tf.float32)
    adversarial = tf.Variable(original)
    attack_step(model, adversarial, original, tf.constant(target),
                tf.constant(epsilon, tf.float32), tf.constant(epsilon, tf.float32))
    return np.round(adversarial[0].numpy())


def parse_epsilon(text) -> float:
    """``"2/255"`` (a fraction of the 0..255 range) or ``"2"`` (pixel units) -> 2.0."""
    text = str(text).strip()
    try:
        if "/" in text:
            num, den = text.split("/", 1)
            value = float(num) / float(den) * 255.0
        else:
            value = float(text)
    except ValueError:
        raise ValueError(f"cannot read epsilon {text!r}: use a fraction such as 2/255 "
                         "or a number of pixel levels such as 2") from None
    if not (value > 0 and math.isfinite(value)):
        raise ValueError(f"epsilon must be positive, got {text!r}")
    return round(value, 6)
