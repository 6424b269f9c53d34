"""Which levers make Lite0's "ideal cat" a cat to networks that did not draw it (issue #26).

For each recipe and seed it draws a cat from a seeded start and prints: Lite0's
robust p on views the optimiser never saw (of tabby, or of the five cat classes
when the recipe aims at them), Lite1's summed probability of the five ImageNet cat
classes on such views, seconds per image; then each recipe's mean over seeds with
a 95% t-interval. Recipes are chosen on Lite1; Lite2 is the held-out judge:
``--report-lite2`` adds it, to be used once, for the chosen recipe only (as a test
set is read once), on seeds that took no part in choosing.

Levers: the parametrisation (``param``: pixels; ``fourier``, the spectrum and
colours of photos as :mod:`helpers.lessons.natural` draws; ``pyramid``, a sum of upsampled
7-224 px layers), random resized crops (``crop_min``: the smallest share of the
image a crop keeps), colour gains (``colour``), shifts (``shift`` px), total
variation (``tv``), the BatchNorm-statistics prior (``bn``, ``benchmarks/bnprior.py``),
a batch of images drawn together (``batch``: the prior's statistics are the
batch's), random views per step (``views``), the spectrum's decay (``decay``),
aiming at any cat class (``group``), drawing for Lite0 + Lite1 (``pair``: then
Lite1 is no longer an outside judge). ``natural`` and ``natural_pair`` run the
chosen recipe through the course's own code (notebook 03's section 5).

Usage: python benchmarks/ideal_cat_levers.py [--recipes natural,natural_pair]
       [--seeds 11 12 13 14 15] [--steps 300] [--report-lite2] [--save DIR]
"""

import argparse
import json
import time

import numpy as np

import helpers  # noqa: F401  (first: keeps TensorFlow's start-up notices quiet)
import keras
import tensorflow as tf
from scipy import stats as scipy_stats

import bnprior   # benchmarks/bnprior.py, beside this script
from helpers.models import backbones
from helpers.lessons import natural, optimize
from helpers.models.labels import CAT_CLASSES, find_class
from helpers.lessons.metrics import ci_text

BASE = dict(batch=1, views=1, group=False, decay=1.0, lr=2.0, tv=0.1, crop_min=0.72,
            colour=0.0, shift=16, bn=0.0, pair=False, param="pixels")
FOURIER = dict(param="fourier", lr=0.05, tv=0.0)
PYRAMID = dict(param="pyramid", lr=0.05, tv=0.0)
COLOUR_AXES = tf.constant([[0.563, 0.584, 0.584], [0.195, 0.0, -0.195], [0.043, -0.108, 0.065]])
RECIPES = {
    "jitter": {},                                            # crops of 72-100%, shifts, flips
    "crops": dict(crop_min=0.3, shift=8),
    "crops_colour": dict(crop_min=0.3, shift=8, colour=0.2),
    "crops_colour_strong": dict(crop_min=0.1, shift=16, colour=0.3),
    "jitter_bn": dict(bn=0.01),
    "jitter_bn_batch4": dict(bn=0.01, batch=4),
    "crops_colour_bn": dict(crop_min=0.3, shift=8, colour=0.2, bn=0.01),
    "pair_crops_colour": dict(crop_min=0.3, shift=8, colour=0.2, pair=True),
    # Lucid's parametrisation: decorrelated colour, a 1/f-scaled spectrum, a sigmoid
    "fourier": dict(FOURIER),
    "fourier_crops_colour": dict(FOURIER, crop_min=0.3, shift=8, colour=0.2),
    "fourier_crops_colour_bn": dict(FOURIER, crop_min=0.3, shift=8, colour=0.2, bn=0.01),
    "fourier_strong": dict(FOURIER, crop_min=0.1, shift=16, colour=0.3),
    "fourier_crops_colour_bn001": dict(FOURIER, crop_min=0.3, shift=8, colour=0.2, bn=0.001),
    "fourier_crops_colour_batch4_bn001": dict(FOURIER, crop_min=0.3, shift=8, colour=0.2,
                                              batch=4, bn=0.001),
    "fourier_crops_colour_lr01": dict(FOURIER, crop_min=0.3, shift=8, colour=0.2, lr=0.1),
    "fourier_crops_colour_views4": dict(FOURIER, crop_min=0.3, shift=8, colour=0.2, views=4),
    "fourier_strong_views4": dict(FOURIER, crop_min=0.1, shift=16, colour=0.3, views=4),
    "fourier_views4_crop05": dict(FOURIER, crop_min=0.5, shift=8, colour=0.2, views=4),
    "fourier_cc_group": dict(FOURIER, crop_min=0.3, shift=8, colour=0.2, group=True),
    "fourier_cc_decay15": dict(FOURIER, crop_min=0.3, shift=8, colour=0.2, decay=1.5),
    "fourier_strong_group": dict(FOURIER, crop_min=0.1, shift=16, colour=0.3, group=True),
    "fourier_cc_group_views4": dict(FOURIER, crop_min=0.3, shift=8, colour=0.2, group=True,
                                    views=4),
    # the chosen recipe as the course draws it (helpers.lessons.natural, notebook 03's cells):
    # fourier_strong_group; drawn by Lite0 alone, or by Lite0 + Lite1 (backbones.ensemble)
    "natural": dict(helpers=True),
    "natural_pair": dict(helpers=True, pair=True),
    # a Laplacian pyramid: the image as a sum of upsampled 7..224 px layers
    "pyramid_crops_colour": dict(PYRAMID, crop_min=0.3, shift=8, colour=0.2),
}


def parametrisation(kind, batch, seed, size=224, decay=1.0):
    """``(variable, to_pixels)``: what the optimiser changes and how it becomes 0..255 RGB."""
    rng = np.random.default_rng(seed)
    if kind == "pixels":
        start = np.clip(127.5 + rng.normal(0, 20, (batch, size, size, 3)), 0, 255)
        return tf.Variable(start.astype("float32")), lambda v: v
    if kind == "fourier":          # the course's spectrum_image; decay > 1 steepens its 1/f
        f = np.maximum(np.hypot(np.fft.fftfreq(size)[:, None], np.fft.rfftfreq(size)[None, :]),
                       1 / size)
        steeper = tf.constant(f ** (1.0 - decay), tf.float32)   # 1/f becomes 1/f**decay
        spectrum = tf.Variable(rng.normal(0, 0.01, (2, batch, 3, size, size // 2 + 1))
                               .astype("float32"))
        return spectrum, lambda v: natural.spectrum_image(v * steeper)
    if kind == "pyramid":          # a sum of upsampled 7..224 px layers, the same colours
        sides = [size // 2 ** k for k in range(6)]
        levels = tf.Variable(rng.normal(0, 0.01, (batch, sum(s * s for s in sides), 3))
                             .astype("float32"))

        def to_pixels(v):
            t, at = 0.0, 0
            for s in sides:
                layer = tf.reshape(v[:, at:at + s * s], (batch, s, s, 3))
                t += tf.image.resize(layer, (size, size), "bilinear")
                at += s * s
            return 255.0 * tf.sigmoid(tf.tensordot(t, COLOUR_AXES, 1))
        return levels, to_pixels
    raise ValueError(kind)


def draw(recipe, seed, steps, networks, target):
    if recipe.get("helpers"):
        model = (backbones.ensemble(["efficientnet_lite0", "efficientnet_lite1"])
                 if recipe["pair"] else networks["efficientnet_lite0"])
        result = natural.draw_natural(model, list(CAT_CLASSES), steps=steps, seed=seed)
        return [np.round(result.image)], result.seconds
    drawing = [networks["efficientnet_lite0"]] + (
        [networks["efficientnet_lite1"]] if recipe["pair"] else [])
    with_stats = [bnprior.statistics_model(m) for m in drawing]
    variable, to_pixels = parametrisation(recipe["param"], recipe["batch"], seed,
                                         decay=recipe["decay"])
    optimizer = keras.optimizers.Adam(
        keras.optimizers.schedules.CosineDecay(recipe["lr"], steps, alpha=0.1))

    @tf.function
    def step(transforms, gains):
        with tf.GradientTape() as tape:
            image = to_pixels(variable)
            loss = recipe["tv"] * tf.reduce_sum(tf.image.total_variation(image)) / (
                224 * 224 * recipe["batch"])
            # several random views of each image per step
            view = optimize.jitter_transform(tf.repeat(image, recipe["views"], axis=0),
                                             transforms)
            view = (view - 127.5) * gains + 127.5
            for stats_model, bns in with_stats:
                size = stats_model.input_shape[1]
                x = view if size == 224 else tf.image.resize(view, (size, size))
                outputs = stats_model(x, training=False)
                wanted = list(CAT_CLASSES) if recipe["group"] else [target]
                p = tf.reduce_sum(tf.gather(outputs[-1], wanted, axis=1), axis=1)
                loss += tf.reduce_mean(-tf.math.log(p + 1e-12))
                if recipe["bn"]:
                    loss += recipe["bn"] * bnprior.bn_prior(outputs[:-1], bns)
        optimizer.apply_gradients([(tape.gradient(loss, variable), variable)])
        if recipe["param"] == "pixels":
            variable.assign(tf.clip_by_value(variable, 0.0, 255.0))

    t0 = time.perf_counter()
    views = recipe["views"] * recipe["batch"]
    for i in range(steps):   # the views of step i: NumPy, seeded [seed, i], as the course draws
        step(*natural.random_views(np.random.default_rng([seed, i]), views, 224,
                                   recipe["crop_min"], recipe["colour"], recipe["shift"]))
    seconds = (time.perf_counter() - t0) / recipe["batch"]
    return [np.round(x) for x in to_pixels(variable).numpy()], seconds


def interval(values):
    values = np.asarray(values, float)
    if len(values) < 2:
        return f"{values.mean():.3f}"
    half = scipy_stats.t.ppf(0.975, len(values) - 1) * values.std(ddof=1) / np.sqrt(len(values))
    return ci_text(values.mean(), max(0, values.mean() - half), min(1, values.mean() + half),
                   len(values))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--recipes", default=",".join(RECIPES))
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 4, 5])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--report-lite2", action="store_true",
                        help="the held-out judge: once, for the chosen recipe only")
    parser.add_argument("--save", metavar="DIR", help="also write each image as a PNG there")
    args = parser.parse_args()
    names = ["efficientnet_lite0", "efficientnet_lite1"] + (
        ["efficientnet_lite2"] if args.report_lite2 else [])
    networks = {n: backbones.get_backbone(n, include_top=True) for n in names}
    tabby = find_class("tabby")
    summary = {}
    for name in args.recipes.split(","):
        recipe = {**BASE, **RECIPES[name]}
        aimed = list(CAT_CLASSES) if recipe["group"] or recipe.get("helpers") else tabby
        for seed in args.seeds:
            images, seconds = draw(recipe, seed, args.steps, networks, tabby)
            for k, image in enumerate(images):
                if args.save:
                    keras.utils.save_img(f"{args.save}/{name}_seed{seed}_{k}.png", image,
                                         scale=False)
                row = {"recipe": name, "seed": seed, "seconds": round(seconds, 1),
                       # what the drawing aimed at: tabby, or any cat class
                       "lite0": optimize.robust_probability(
                           networks["efficientnet_lite0"], image, aimed, seed=seed)}
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
