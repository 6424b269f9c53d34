"""Optimise an input image toward a target class: the "ideal cat" (notebook 03)
and the adversarial dog (notebook 04) are the same loop, with other steps.

The functions marked "notebook 03's cell" or "notebook 04's cell" below are those
notebooks' `#@save` cells word for word (``python -m helpers save``
writes them here): the lesson is written out there, and the `dream` and `attack` commands
reuse it from here. The rest is the course's judging: views of an image the
optimiser never saw (:func:`robust_probability`), and the seeded start.

Images are float RGB in 0..255. Everything random is drawn by NumPy from seeds
(``[seed, step]``), outside the gradient step, so the three backends see the
same views. The losses are written once in ``keras.ops``; their gradient with
respect to the image comes from :func:`helpers.lessons.gradients.input_gradient`, in the
running backend's own idiom, traced or compiled once per model.
"""

from __future__ import annotations

import dataclasses
import math
import time

import keras
import numpy as np
from keras import ops

from helpers.models.features import feature_extractor
from helpers.lessons.gradients import input_gradient


@dataclasses.dataclass
class OptimizeResult:
    image: np.ndarray                       # (H, W, 3) float32 in 0..255
    history: dict                           # "loss", "prob", "tv": one value per step
    snapshots: list                         # [(step, image)] when snapshot_every is set
    seconds: float
    steps: int


# Notebook 03's `#@save` cells: edit them there, then run `python -m helpers save`.

def random_jitter(rng, size, max_shift=16, scale_range=(0.85, 1.15), flip=True,
                  max_degrees=0.0):
    """One random view as the 8 numbers ``keras.ops.image.affine_transform`` takes:
    a shift of up to ``max_shift`` px, a rescale about the centre, maybe a
    horizontal flip and a rotation of up to ``max_degrees``. ``rng`` is a NumPy
    generator. Notebook 03."""
    scale = rng.uniform(*scale_range) if scale_range else 1.0
    mirror = -1.0 if flip and rng.uniform() < 0.5 else 1.0
    dy, dx = rng.integers(-max_shift, max_shift + 1, 2) if max_shift else (0, 0)
    angle = math.radians(rng.uniform(-max_degrees, max_degrees)) if max_degrees else 0.0
    c, s = math.cos(angle), math.sin(angle)
    # each output pixel (x, y) reads the input at (a0 x + a1 y + a2, b0 x + b1 y + b2)
    a0, a1, b0, b1 = c * mirror / scale, -s / scale, s * mirror / scale, c / scale
    centre = (size - 1) / 2
    a2 = centre - (a0 + a1) * centre - dx
    b2 = centre - (b0 + b1) * centre - dy
    return np.array([a0, a1, a2, b0, b1, b2, 0.0, 0.0], "float32")


def jitter_transform(images, transforms):
    """``images`` (n, size, size, 3) seen through ``transforms`` (one row of
    :func:`random_jitter` each): bilinear sampling, the edges wrapping around,
    written out in ``keras.ops`` so that its gradient is exact on every backend
    (TensorFlow's gradient for ``ops.image.affine_transform`` is only an
    approximation). Notebook 03."""
    n, height, width, channels = images.shape
    ys, xs = (ops.convert_to_tensor(g) for g in np.mgrid[0:height, 0:width].astype("float32"))
    t = ops.reshape(ops.convert_to_tensor(transforms, "float32"), (-1, 8, 1, 1))
    x = t[:, 0] * xs + t[:, 1] * ys + t[:, 2]        # where each output pixel reads
    y = t[:, 3] * xs + t[:, 4] * ys + t[:, 5]
    x0, y0 = ops.floor(x), ops.floor(y)
    wx, wy = ops.expand_dims(x - x0, -1), ops.expand_dims(y - y0, -1)
    flat = ops.reshape(images, (-1, channels))
    first = ops.reshape(ops.arange(n, dtype="int32") * height * width, (-1, 1, 1))

    def pixel(dy, dx):   # the pixels at (y0 + dy, x0 + dx), wrapped into the image
        row = ops.cast(ops.mod(y0 + dy, height), "int32")
        col = ops.cast(ops.mod(x0 + dx, width), "int32")
        return ops.take(flat, first + row * width + col, axis=0)

    top = pixel(0, 0) * (1 - wx) + pixel(0, 1) * wx
    bottom = pixel(1, 0) * (1 - wx) + pixel(1, 1) * wx
    return top * (1 - wy) + bottom * wy


JUDGE_SEED = 1_000_003   # the first half of every judging seed: the optimiser never uses it


def robust_probability(model, image, target, n=32, max_shift=16, scale_range=(0.85, 1.15),
                       max_degrees=10.0, seed=0) -> float:
    """Mean p(target) over ``n`` views of ``image`` that no optimisation saw: random
    shifts, rescales, flips and rotations (up to ``max_degrees``), drawn from seeds
    the optimiser never uses. ``target``: a class or a list of classes (summed).
    ``model`` may take another input size (Lite1, Lite2). Notebook 03."""
    image = np.asarray(image, np.float32)
    size = image.shape[0]
    transforms = np.stack([
        random_jitter(np.random.default_rng([JUDGE_SEED + seed, i]), size, max_shift,
                      scale_range, True, max_degrees) for i in range(n)])
    views = jitter_transform(np.repeat(image[None], n, axis=0), transforms)
    batch = ops.clip(views, 0.0, 255.0)
    model_size = model.input_shape[1]
    if model_size and model_size != size:       # another network, at its own input size
        batch = ops.image.resize(batch, (model_size, model_size))
    probs = feature_extractor(model)(batch)  # compiled, where model(batch) runs eagerly
    classes = np.atleast_1d(np.asarray(target, dtype=np.int32))   # one class, or a group
    return float(probs[:, classes].sum(axis=1).mean())


def random_start(size=224, seed=0, spread=20.0) -> np.ndarray:
    """Grey noise to start a visualisation from (seeded). Notebook 03."""
    rng = np.random.default_rng(seed)
    return np.clip(127.5 + rng.normal(0.0, spread, (size, size, 3)), 0, 255).astype(np.float32)


# Notebook 03's `#@save` cells: edit them there, then run `python -m helpers save`.

def total_variation(images):
    """The summed absolute difference between neighbouring pixels, down and
    across: small for smooth images, large for noise. Notebook 03."""
    down = ops.sum(ops.abs(images[:, 1:, :, :] - images[:, :-1, :, :]))
    across = ops.sum(ops.abs(images[:, :, 1:, :] - images[:, :, :-1, :]))
    return down + across


def dream_loss(model, image, target, tv_weight, transforms=None):
    """Cross-entropy to ``target`` plus ``tv_weight`` x total variation per pixel.
    With ``transforms`` the network sees the image through them (jitter).
    Returns ``(loss, [p, tv])``. The same on every backend. Notebook 03."""
    view = jitter_transform(image, transforms) if transforms is not None else image
    p = ops.take(model(view, training=False)[0], target)
    tv = total_variation(image) / (image.shape[1] * image.shape[2])
    loss = -ops.log(p + 1e-12) + tv_weight * tv
    return loss, ops.stack([p, tv])


def draw(model, target, steps=300, tv_weight=0.0, jitter=0, learning_rate=2.0, seed=0,
         size=224, snapshot_every=None):
    """Optimise an image from seeded grey noise toward class ``target``: Adam steps
    on the pixels, the step size decayed along a cosine to a tenth. Notebook 03."""
    image = keras.Variable(random_start(size, seed)[None])   # the pixels are the weights now
    schedule = keras.optimizers.schedules.CosineDecay(learning_rate, steps, alpha=0.1)
    optimizer = keras.optimizers.Adam(schedule)
    gradient = input_gradient(dream_loss, model)   # this backend's way (cells above)
    history, snapshots = {"loss": [], "prob": [], "tv": []}, []
    start = time.perf_counter()
    for i in range(steps):
        if snapshot_every and i % snapshot_every == 0:
            snapshots.append((i, ops.convert_to_numpy(image)[0]))
        rng = np.random.default_rng([seed, i])           # this step's random view
        view = random_jitter(rng, size, jitter)[None] if jitter else None
        grad, loss, (p, tv) = gradient(image.value, np.int32(target), np.float32(tv_weight), view)
        optimizer.apply_gradients([(grad, image)])
        image.assign(ops.clip(image, 0.0, 255.0))   # pixels stay in 0..255
        for key, value in zip(history, (loss, p, tv)):
            history[key].append(float(value))
    if snapshot_every:
        snapshots.append((steps, ops.convert_to_numpy(image)[0]))
    return OptimizeResult(ops.convert_to_numpy(image)[0], history, snapshots,
                          time.perf_counter() - start, steps)


# Notebook 04's `#@save` cells: edit them there, then run `python -m helpers save`.

def attack_loss(model, image, target):
    """Cross-entropy to ``target`` of the image rounded to 8 bits (what a PNG
    stores; the rounding passes the gradient straight through). Returns
    ``(loss, p)``. The same on every backend. Notebook 04."""
    rounded = image + ops.stop_gradient(ops.round(image) - image)
    p = ops.take(model(rounded, training=False)[0], target)
    return -ops.log(p + 1e-12), p


def attack_step(model, image, original, target, epsilon, step_size):
    """One step of the attack on ``image`` (a ``keras.Variable``): a signed gradient
    step toward ``target``, then back into the box of +-epsilon around ``original``
    and into 0..255. Returns p(target) before the step. Notebook 04."""
    grad, loss, p = input_gradient(attack_loss, model)(image.value, np.int32(target))
    image.assign(image - step_size * ops.sign(grad))
    image.assign(ops.clip(image, original - epsilon, original + epsilon))
    image.assign(ops.clip(image, 0.0, 255.0))
    return float(p)


def attack(model, image, target, epsilon=2.0, steps=20, step_size=None, stop_at=0.9):
    """A targeted iterative attack within ``epsilon`` (0..255 units) of ``image``,
    steps of ``step_size`` (default epsilon / 4); it stops once p(target) on the
    8-bit image reaches ``stop_at``. Notebook 04."""
    original = np.round(image)[None].astype("float32")
    adversarial = keras.Variable(original)
    step_size = step_size or max(epsilon / 4, 0.25)
    start, probs = time.perf_counter(), []
    for i in range(steps):
        before = ops.convert_to_numpy(adversarial)
        probs.append(attack_step(model, adversarial, original, target, epsilon, step_size))
        if probs[-1] >= stop_at:          # p was measured before the step: keep that image
            adversarial.assign(before)
            break
    image = np.round(ops.convert_to_numpy(adversarial)[0])
    return OptimizeResult(image, {"prob": probs}, [], time.perf_counter() - start, len(probs))


def fgsm(model, image, target, epsilon=2.0):
    """The targeted fast gradient sign method: one step of the attack, of size
    epsilon, toward ``target``. Notebook 04."""
    original = np.round(image)[None].astype("float32")
    adversarial = keras.Variable(original)
    attack_step(model, adversarial, original, target, epsilon, epsilon)
    return np.round(ops.convert_to_numpy(adversarial)[0])


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
