"""Time to accuracy: the classic recipe against the course's, on cats_and_dogs_filtered.

Both run in this one process on the same photos (train 1,700, validation 300,
test: the 1,000 validation/ photos), side by side:

* classic  a frozen VGG16 called on every photo in every epoch, a head trained on
           top (the lesson this course grows from). Timed on --classic-batches
           batches of an epoch and scaled to the 2,000 photos an epoch reads
           (1,700 to train on, 300 to validate). VGG16's ImageNet weights are
           rarely here offline: random weights run at the same speed (marked *);
           its accuracy is then taken from the published figure (--classic-accuracy,
           default 0.90: F. Chollet, blog.keras.io 2016, frozen VGG16 on 2,000 of
           these photos).
* course   EfficientNet-Lite0 features computed once and cached, then a head trained
           on them, one epoch at a time, scored on the 1,000 test photos after each.

It prints seconds per epoch for each, when the course reaches 0.95, 0.99 and the
classic's published accuracy, and the ratio to one classic epoch (a lower bound on
the classic's time: it needs at least one epoch). Needs TL_DATA_DIR.

Usage: python benchmarks/time_to_accuracy.py [--classic-batches 4]
"""

import argparse
import time

import keras
import numpy as np

from helpers.data import folders, pipeline, sources
from helpers.models import backbones, features
from helpers.lessons import metrics, train


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--classic-batches", type=int, default=4)
    parser.add_argument("--classic-accuracy", type=float, default=0.90)
    parser.add_argument("--epochs", type=int, default=30)
    args = parser.parse_args()
    split = folders.presplit(sources.find_dataset("cats_and_dogs_filtered"), val=0.15, seed=42)
    (tr, y_tr), (va, y_va), (te, y_te) = (split.part(p) for p in ("train", "val", "test"))
    epoch_photos = len(tr) + len(va)

    # (a) the classic recipe: VGG16 on every photo in every epoch
    weights = "imagenet" if backbones.weights_available("vgg16") else None
    base = backbones.get_backbone("vgg16", include_top=False, weights=weights)
    base.trainable = False
    inputs = keras.Input((224, 224, 3))
    outputs = train.make_head(512, 2)(base(inputs, training=False))
    classic = keras.Model(inputs, outputs)
    classic.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    ds = pipeline.image_dataset(tr, y_tr, 224, batch_size=32, shuffle=True).take(
        args.classic_batches + 1)
    first, rest = ds.take(1), ds.skip(1)
    classic.fit(first, epochs=1, verbose=0, shuffle=False)       # tracing, warm-up
    start = time.perf_counter()
    classic.fit(rest, epochs=1, verbose=0, shuffle=False)
    per_photo = (time.perf_counter() - start) / (32 * args.classic_batches)
    classic_epoch = per_photo * epoch_photos
    mark = "" if weights else "*"
    print(f"classic: VGG16{mark} frozen, {1 / per_photo:.1f} photos/s in training -> "
          f"{classic_epoch:.0f} s per epoch of {epoch_photos} photos")
    if not weights:
        print("  * random weights (ImageNet weights not on this machine): same speed; "
              f"accuracy taken from the published figure, {args.classic_accuracy:.2f}")
    del classic, base
    keras.backend.clear_session()

    # (b) the course: features once, then the head epoch by epoch
    extractor = backbones.get_backbone("efficientnet_lite0", include_top=False)
    start = time.perf_counter()
    x_tr = features.extract_features(extractor, tr, progress=False)
    x_va = features.extract_features(extractor, va, progress=False)
    feature_seconds = time.perf_counter() - start
    x_te = features.extract_features(extractor, te, progress=False)  # scoring only
    train.set_seed(42)
    head = train.make_head(x_tr.shape[1], 2)
    head.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy")
    elapsed, reached, epoch_times = feature_seconds, {}, []
    goals = sorted({0.95, 0.99, args.classic_accuracy})
    for epoch in range(1, args.epochs + 1):
        start = time.perf_counter()
        head.fit(x_tr, y_tr, validation_data=(x_va, y_va), epochs=1, batch_size=32, verbose=0)
        epoch_times.append(time.perf_counter() - start)
        elapsed += epoch_times[-1]
        acc = metrics.accuracy(y_te, head.predict(x_te, verbose=0).argmax(1))
        for goal in goals:
            if goal not in reached and acc.value >= goal:
                reached[goal] = (epoch, elapsed, acc)
    print(f"course: Lite0 features of {epoch_photos} photos once in {feature_seconds:.1f} s "
          f"({epoch_photos / feature_seconds:.0f} photos/s), then "
          f"{np.median(epoch_times):.2f} s per head epoch")
    for goal in goals:
        if goal in reached:
            epoch, seconds, acc = reached[goal]
            print(f"  test accuracy >= {goal:.2f} after {epoch} head epochs, {seconds:.1f} s in all "
                  f"({acc}); one classic epoch takes {classic_epoch / seconds:.1f}x as long")
        else:
            print(f"  test accuracy >= {goal:.2f} not reached in {args.epochs} head epochs")
    print(f"seconds per epoch: classic {classic_epoch:.0f}, course head "
          f"{np.median(epoch_times):.2f} (ratio {classic_epoch / np.median(epoch_times):.0f}x)")


if __name__ == "__main__":
    main()
