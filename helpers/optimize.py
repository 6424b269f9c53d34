"""Optimise an input image toward a target class: the "ideal cat" (notebook 03)
and the adversarial dog (notebook 04) are the same loop.

The loss is the cross-entropy of the model's output to the target class plus
``tv_weight`` times the total variation of the image per pixel
(``tf.image.total_variation`` summed over the batch, divided by height x width;
images are in 0..255). Options: an L-infinity ball around a start image
(attacks), random jitter at every step (visualisation), rounding to 8 bits in
the forward pass (so what is optimised is exactly what a PNG stores). Pixels
always stay in 0..255. Everything random is seeded; the model and image are
arguments. The compiled step is kept per model in a weak mapping: reused while
the model lives, forgotten with it.
"""

from __future__ import annotations

import dataclasses
import math
import time
import weakref

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


def total_variation(images) -> tf.Tensor:
    """Summed total variation of a batch (``tf.image.total_variation``). Notebook 03."""
    return tf.reduce_sum(tf.image.total_variation(tf.convert_to_tensor(images, tf.float32)))


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


def optimize_input(model, target: int, start=None, steps=200, learning_rate=2.0,
                   tv_weight=0.0, epsilon=None, jitter=0, method="adam", quantize=False,
                   stop_at_prob=None, snapshot_every=None, seed=0, image_size=224,
                   progress=True) -> OptimizeResult:
    """Optimise an image so that ``model`` gives class ``target``. Notebooks 03-04.

    ``method="adam"`` takes Adam steps of ``learning_rate`` (pixel units, decayed
    along a cosine to a tenth by the last step);
    ``method="sign"`` takes signed-gradient steps of ``learning_rate`` (the
    iterative projected attack; one step of size epsilon is FGSM). With
    ``epsilon`` (0..255 units) the image stays within that L-infinity distance of
    ``start``. ``jitter`` > 0 shifts (up to ``jitter`` px), rescales and flips the
    image at random before each step. ``stop_at_prob`` ends early once p(target)
    on the (quantized) image reaches it, as measured by the step itself (exact
    when ``jitter`` is 0).
    """
    if method not in ("adam", "sign"):
        raise ValueError(f"method must be 'adam' or 'sign', not {method!r}")
    if start is None:
        start = random_start(image_size, seed)
    start = tf.constant(np.asarray(start, np.float32)[None])
    stepper = _stepper(model, tuple(start.shape), method, bool(quantize), int(jitter))
    stepper.reset(start, epsilon, learning_rate, tv_weight, target)
    x = stepper.x
    history = {"loss": [], "prob": [], "tv": []}
    snapshots = [(0, start.numpy()[0].copy())] if snapshot_every else []
    iterator = range(steps)
    if progress:
        from tqdm.auto import tqdm

        iterator = tqdm(iterator, desc=f"optimising toward class {target}", leave=False)
    t0 = time.perf_counter()
    done = 0
    for i in iterator:
        if method == "adam":  # cosine decay to a tenth: no late spikes
            stepper.opt.learning_rate = learning_rate * (
                0.1 + 0.45 * (1.0 + math.cos(math.pi * i / max(steps, 1))))
        before = x.numpy() if stop_at_prob is not None else None
        loss, p, tv = stepper.step(tf.constant([seed, i], tf.int32))
        history["loss"].append(float(loss))
        history["prob"].append(float(p))
        history["tv"].append(float(tv))
        # p was measured on the image before this step's update: if it is good
        # enough, keep that image (no second forward pass needed)
        if stop_at_prob is not None and float(p) >= stop_at_prob:
            x.assign(before)
            break
        done = i + 1
        if snapshot_every and done % snapshot_every == 0:
            snapshots.append((done, x.numpy()[0].copy()))
    image = x.numpy()[0]
    if quantize:
        image = np.round(image)
    return OptimizeResult(image.astype(np.float32), history, snapshots,
                          time.perf_counter() - t0, done)


class _Stepper:
    """One compiled optimisation step, reused across calls with the same model and
    settings (tracing a new tf.function costs about a second per call)."""

    def __init__(self, model, shape, method, quantize, jitter):
        model_ref = weakref.ref(model)   # the mapping below must not keep the model alive
        self.x = tf.Variable(tf.zeros(shape))
        self.lower = tf.Variable(tf.zeros(shape))
        self.upper = tf.Variable(tf.zeros(shape))
        self.lr = tf.Variable(0.0)
        self.tv_weight = tf.Variable(0.0)
        self.target = tf.Variable(0)
        self.opt = tf.keras.optimizers.Adam(1.0) if method == "adam" else None
        pixels = float(shape[1] * shape[2])

        @tf.function
        def step(seed_pair):
            x = self.x
            with tf.GradientTape() as tape:
                view = x + tf.stop_gradient(tf.round(x) - x) if quantize else x
                if jitter:
                    view = jitter_transform(view, jitter, seed=seed_pair)
                probs = model_ref()(view, training=False)
                p = tf.gather(probs[0], self.target)
                ce = -tf.math.log(p + 1e-12)
                tv = total_variation(x) / pixels
                loss = ce + self.tv_weight * tv
            grad = tape.gradient(loss, x)
            if self.opt is not None:
                self.opt.apply_gradients([(grad, x)])
            else:
                x.assign_sub(self.lr * tf.sign(grad))
            x.assign(tf.clip_by_value(x, self.lower, self.upper))
            return loss, p, tv

        self.step = step

    def reset(self, start, epsilon, learning_rate, tv_weight, target):
        self.x.assign(start)
        if epsilon is None:
            self.lower.assign(tf.zeros_like(start))
            self.upper.assign(tf.fill(start.shape, 255.0))
        else:
            self.lower.assign(tf.maximum(start - epsilon, 0.0))
            self.upper.assign(tf.minimum(start + epsilon, 255.0))
        self.lr.assign(learning_rate)
        self.tv_weight.assign(tv_weight)
        self.target.assign(int(target))
        if self.opt is not None:
            if self.opt.built:  # fresh moments and step count for every run
                for v in self.opt.variables:
                    v.assign(tf.zeros_like(v))
            self.opt.learning_rate = learning_rate


_STEPPERS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def _stepper(model, shape, method, quantize, jitter) -> _Stepper:
    steppers = _STEPPERS.setdefault(model, {})
    key = (shape, method, quantize, jitter)
    if key not in steppers:
        steppers[key] = _Stepper(model, shape, method, quantize, jitter)
    return steppers[key]


def dream(model, target, steps=300, tv_weight=0.1, jitter=16, learning_rate=2.0, seed=0,
          image_size=224, snapshot_every=None, progress=True) -> OptimizeResult:
    """The "ideal" image of a class, from seeded noise: Adam, TV and jitter. Notebook 03."""
    return optimize_input(model, target, random_start(image_size, seed), steps=steps,
                          learning_rate=learning_rate, tv_weight=tv_weight, jitter=jitter,
                          seed=seed, snapshot_every=snapshot_every, progress=progress)


def attack(model, image, target, epsilon=2.0, steps=20, step_size=None, seed=0,
           progress=False) -> OptimizeResult:
    """A targeted iterative projected attack within ``epsilon`` (0..255 units),
    on the 8-bit rounded image, so the saved PNG keeps the effect. Notebook 04."""
    start = np.round(np.asarray(image, np.float32))
    step_size = step_size or max(epsilon / 4.0, 0.25)
    return optimize_input(model, target, start, steps=steps, learning_rate=step_size,
                          epsilon=epsilon, method="sign", quantize=True, stop_at_prob=0.9,
                          seed=seed, progress=progress)


def fgsm(model, image, target, epsilon=2.0) -> np.ndarray:
    """One signed-gradient step of size ``epsilon`` toward ``target`` (FGSM). Notebook 04."""
    start = np.round(np.asarray(image, np.float32))
    return optimize_input(model, target, start, steps=1, learning_rate=epsilon,
                          epsilon=epsilon, method="sign", quantize=True,
                          progress=False).image


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
