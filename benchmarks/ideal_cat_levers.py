"""Which levers make Lite0's "ideal cat" a cat to networks that did not draw it (issue #26).

For each recipe and seed it draws a tabby from seeded noise and prints: Lite0's
robust p(tabby) on views the optimiser never saw, Lite1's summed probability of
the five ImageNet cat classes on such views, seconds per image; then each
recipe's mean over seeds with a 95% t-interval. Recipes are chosen on Lite1;
Lite2 is the held-out judge: ``--report-lite2`` adds it, to be used once, for
the chosen recipe only (as a test set is read once).

Levers: random resized crops (``crop_min``: the smallest share of the image a
crop keeps), colour gains (``colour``), shifts (``shift`` px), total variation
(``tv``), the BatchNorm-statistics prior (``bn``, :mod:`helpers.bnprior`), a batch
of images drawn together (``batch``: the prior's statistics are the batch's),
drawing for Lite0 + Lite1 (``pair``: then Lite1 is no longer an outside judge).

Usage: python benchmarks/ideal_cat_levers.py [--recipes crop,crop_bn] [--seeds 1 2 3 4 5]
       [--steps 300] [--report-lite2]
"""

import argparse
import json
import time

import numpy as np

import helpers  # noqa: F401  (first: keeps TensorFlow's start-up notices quiet)
import keras
import tensorflow as tf
from scipy import stats as scipy_stats

from helpers import backbones, bnprior, optimize
from helpers.labels import CAT_CLASSES, find_class

BASE = dict(batch=1, lr=2.0, tv=0.1, crop_min=0.72, colour=0.0, shift=16, bn=0.0, pair=False)
RECIPES = {
    "jitter": {},                                            # crops of 72-100%, shifts, flips
    "crops": dict(crop_min=0.3, shift=8),
    "crops_colour": dict(crop_min=0.3, shift=8, colour=0.2),
    "crops_colour_strong": dict(crop_min=0.1, shift=16, colour=0.3),
    "jitter_bn": dict(bn=0.01),
    "jitter_bn_batch4": dict(bn=0.01, batch=4),
    "crops_colour_bn": dict(crop_min=0.3, shift=8, colour=0.2, bn=0.01),
    "pair_crops_colour": dict(crop_min=0.3, shift=8, colour=0.2, pair=True),
}


def augment(images, seed, crop_min, colour, shift):
    """A random resized crop, shift, flip and colour gain per image (differentiable)."""
    n, size = tf.shape(images)[0], images.shape[1]
    side = tf.sqrt(tf.random.stateless_uniform([n], seed, crop_min, 1.0))
    y0 = tf.random.stateless_uniform([n], seed + 1) * (1 - side)
    x0 = tf.random.stateless_uniform([n], seed + 2) * (1 - side)
    boxes = tf.stack([y0, x0, y0 + side, x0 + side], axis=1)
    out = tf.image.crop_and_resize(images, boxes, tf.range(n), [size, size])
    if shift:
        dy = tf.random.stateless_uniform([], seed + 5, -shift, shift + 1, tf.int32)
        dx = tf.random.stateless_uniform([], seed + 6, -shift, shift + 1, tf.int32)
        out = tf.roll(out, [dy, dx], [1, 2])
    flip = tf.random.stateless_uniform([n, 1, 1, 1], seed + 3) < 0.5
    out = tf.where(flip, tf.reverse(out, [2]), out)
    if colour:
        gain = tf.random.stateless_uniform([n, 1, 1, 3], seed + 4, 1 - colour, 1 + colour)
        out = (out - 127.5) * gain + 127.5
    return out


def draw(recipe, seed, steps, networks, target):
    drawing = [networks["efficientnet_lite0"]] + (
        [networks["efficientnet_lite1"]] if recipe["pair"] else [])
    with_stats = [bnprior.statistics_model(m) for m in drawing]
    rng = np.random.default_rng(seed)
    start = np.clip(127.5 + rng.normal(0, 20, (recipe["batch"], 224, 224, 3)), 0, 255)
    image = tf.Variable(start.astype("float32"))
    optimizer = keras.optimizers.Adam(
        keras.optimizers.schedules.CosineDecay(recipe["lr"], steps, alpha=0.1))

    @tf.function
    def step(i):
        with tf.GradientTape() as tape:
            view = augment(image, tf.stack([seed, i]), recipe["crop_min"], recipe["colour"],
                           recipe["shift"])
            loss = recipe["tv"] * tf.reduce_sum(tf.image.total_variation(image)) / (
                224 * 224 * recipe["batch"])
            for stats_model, bns in with_stats:
                size = stats_model.input_shape[1]
                x = view if size == 224 else tf.image.resize(view, (size, size))
                outputs = stats_model(x, training=False)
                loss += tf.reduce_mean(-tf.math.log(outputs[-1][:, target] + 1e-12))
                if recipe["bn"]:
                    loss += recipe["bn"] * bnprior.bn_prior(outputs[:-1], bns)
        optimizer.apply_gradients([(tape.gradient(loss, image), image)])
        image.assign(tf.clip_by_value(image, 0.0, 255.0))

    t0 = time.perf_counter()
    for i in range(steps):
        step(tf.constant(i))
    seconds = (time.perf_counter() - t0) / recipe["batch"]
    return [np.round(x) for x in image.numpy()], seconds


def interval(values):
    values = np.asarray(values, float)
    if len(values) < 2:
        return f"{values.mean():.3f}"
    half = scipy_stats.t.ppf(0.975, len(values) - 1) * values.std(ddof=1) / np.sqrt(len(values))
    return f"{values.mean():.3f} (95% CI {max(0, values.mean() - half):.3f}-" \
           f"{min(1, values.mean() + half):.3f}, n={len(values)})"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--recipes", default=",".join(RECIPES))
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 4, 5])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--report-lite2", action="store_true",
                        help="the held-out judge: once, for the chosen recipe only")
    args = parser.parse_args()
    names = ["efficientnet_lite0", "efficientnet_lite1"] + (
        ["efficientnet_lite2"] if args.report_lite2 else [])
    networks = {n: backbones.get_backbone(n, include_top=True) for n in names}
    tabby = find_class("tabby")
    summary = {}
    for name in args.recipes.split(","):
        recipe = {**BASE, **RECIPES[name]}
        for seed in args.seeds:
            images, seconds = draw(recipe, seed, args.steps, networks, tabby)
            for image in images:
                row = {"recipe": name, "seed": seed, "seconds": round(seconds, 1),
                       "lite0": optimize.robust_probability(networks["efficientnet_lite0"],
                                                            image, tabby, seed=seed)}
                for judge in names[1:]:
                    row[judge[-5:]] = optimize.robust_probability(
                        networks[judge], image, list(CAT_CLASSES), seed=seed)
                summary.setdefault(name, []).append(row)
                print(json.dumps({k: round(v, 3) if isinstance(v, float) else v
                                  for k, v in row.items()}), flush=True)
    print(f"\n{args.steps} steps; mean over images (robust p on unseen views)")
    for name, rows in summary.items():
        line = f"{name:20} lite0 {interval([r['lite0'] for r in rows])}  " \
               f"lite1 {interval([r['lite1'] for r in rows])}"
        if args.report_lite2:
            line += f"  lite2 {interval([r['lite2'] for r in rows])}"
        print(line + f"  {np.mean([r['seconds'] for r in rows]):.0f} s per image")


if __name__ == "__main__":
    main()
