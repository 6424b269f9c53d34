"""The course's hot paths on each Keras backend, side by side (issue #33).

For TensorFlow, PyTorch and JAX, each in its own process (Keras picks its backend
at import), one after the other in one run of this script:

* notebook 01's features: Lite0 on 256 photos (seeded) of
  ``cats_and_dogs_filtered`` (decode included, through the course's pipeline);
* one fine-tuning epoch as notebook 02 runs it: Lite0 from ``block13_expand_conv``
  unfrozen (BatchNorm frozen), a head, ``fit`` on 256 photos in memory, batch 32;
* one drawing of notebook 03: 50 steps of TV + jitter on the pixels, and 50 steps
  of the spectrum recipe (``draw_natural``);
* one attack of notebook 04 (20 steps at 2/255, not stopped early).

Each timing is taken after a warm-up of the same call (the trace or compile is
printed apart). The machine drifts by up to 2x between minutes: the script runs
the backends in order twice (``--rounds``) and prints each backend's time as a
ratio to TensorFlow's in the same round.

Usage: TL_DATA_DIR=../shared/data python benchmarks/backends.py [--rounds 2]
"""

import argparse
import json
import os
import subprocess
import sys

WORKER = r"""
import json, time
import helpers
import keras, numpy as np
from helpers import lessons
from helpers.data import pipeline
from helpers.models import backbones, features
from helpers.lessons import natural, optimize, train
from helpers.models.labels import CAT_CLASSES

def timed(fn):
    start = time.perf_counter(); fn(); first = time.perf_counter() - start
    start = time.perf_counter(); fn(); return first, time.perf_counter() - start

out = {"backend": keras.backend.backend()}
photos = lessons.cats_and_dogs("quick")
files, labels = photos.part("train")
pick = np.random.default_rng(0).permutation(len(files))[:256]   # both classes
files, labels = [files[i] for i in pick], np.asarray(labels)[pick]
backbone = backbones.get_backbone("efficientnet_lite0")
out["features"] = timed(lambda: features.extract_features(backbone, files, 224, progress=False))
images = pipeline.load_images(files, 224)
net = backbones.get_backbone("efficientnet_lite0")
train.unfreeze_top(net, "block13_expand_conv")
inputs = keras.Input((224, 224, 3))
model = keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(net(inputs, training=False)))
model.compile(keras.optimizers.Adam(1e-5), "sparse_categorical_crossentropy")
out["fine_tune_epoch"] = timed(lambda: model.fit(images, labels, batch_size=32, epochs=1, verbose=0))
classifier, (tabby,) = lessons.imagenet_classifier("efficientnet_lite0", "tabby")
out["draw_tv_jitter_50"] = timed(lambda: optimize.draw(classifier, tabby, steps=50, tv_weight=0.1, jitter=16))
out["draw_spectrum_50"] = timed(lambda: natural.draw_natural(classifier, list(CAT_CLASSES), steps=50))
dog = images[list(labels).index(1)]
out["attack_20"] = timed(lambda: optimize.attack(classifier, dog, tabby, steps=20, stop_at=1.1))
print(json.dumps(out))
"""

PATHS = ["features", "fine_tune_epoch", "draw_tv_jitter_50", "draw_spectrum_50", "attack_20"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--backends", default="tensorflow,torch,jax")
    args = parser.parse_args()
    backends = args.backends.split(",")
    rounds = []
    for r in range(args.rounds):
        row = {}
        for backend in backends:
            res = subprocess.run([sys.executable, "-c", WORKER], capture_output=True, text=True,
                                 env=dict(os.environ, KERAS_BACKEND=backend))
            if res.returncode:
                sys.exit(f"{backend} failed:\n{res.stderr[-3000:]}")
            row[backend] = json.loads(res.stdout.strip().splitlines()[-1])
            print(f"round {r + 1}, {backend}: " + ", ".join(
                f"{k} {row[backend][k][1]:.1f} s (first {row[backend][k][0]:.1f})" for k in PATHS),
                flush=True)
        rounds.append(row)
    print("\nseconds after warm-up (first call, with trace or compile, in brackets); "
          "x: ratio to TensorFlow in the same round")
    print(f"{'path':20}" + "".join(f"{b:>34}" for b in backends))
    for key in PATHS:
        cells = []
        for b in backends:
            secs = [row[b][key][1] for row in rounds]
            ratios = [row[b][key][1] / row["tensorflow"][key][1] for row in rounds]
            firsts = [row[b][key][0] for row in rounds]
            cells.append(f"{min(secs):.1f}-{max(secs):.1f} s ({min(firsts):.0f} s) "
                         f"x{min(ratios):.2f}-{max(ratios):.2f}")
        print(f"{key:20}" + "".join(f"{c:>34}" for c in cells))


if __name__ == "__main__":
    main()
