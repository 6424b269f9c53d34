"""Decode + resize + features on the 3,000 cats_and_dogs_filtered photos.

Measures, side by side in one process:

* model     the backbone alone on in-memory batches (the same images, decoded first)
* decode    the tf.data pipeline alone (read, decode by content, resize, batch)
* full      the notebooks' path: features.extract_features(model, files)
* autotuned the same with autotuned decoding threads and prefetch (the old pipeline)

and prints images/s, the full path as a ratio of the model alone (target >= 0.9),
and the peak resident memory of a streamed pass. Needs TL_DATA_DIR (or --folder:
any folder of photos, with a class per subfolder or Oxford names).

Usage: python benchmarks/pipeline_throughput.py [--folder DIR] [--repeats 2]
"""

import argparse
import resource
import time

import numpy as np
import tensorflow as tf


from helpers import backbones, features, folders, pipeline, sources


def rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--folder", default=None)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--backbone", default="efficientnet_lite0")
    args = parser.parse_args()
    if args.folder:
        folder = args.folder
        files = folders.check_folder(folder).paths()
    else:
        folder = sources.find_dataset("cats_and_dogs_filtered")
        split = folders.presplit(folder)
        files = split.train + split.val + split.test
    n = len(files)
    model = backbones.get_backbone(args.backbone, include_top=False)
    run = features.feature_extractor(model)

    # warm-up of every path
    features.extract_features(model, files[:64], progress=False)
    rss_before = rss_mb()
    # peak memory of a streamed pass over the files, twice (never all in memory);
    # measured first, before the timings below hold one pass of images in memory
    for b in pipeline.image_dataset(files * 2, batch_size=32):
        run(b)
    streamed = rss_mb()

    def autotuned():  # the pipeline as it was before: autotuned decoding threads and buffer
        ds = tf.data.Dataset.from_tensor_slices(files).map(
            lambda f: pipeline.decode_image(f, 224), num_parallel_calls=tf.data.AUTOTUNE)
        for b in ds.batch(32).prefetch(tf.data.AUTOTUNE):
            run(b).numpy()

    timings = {"model": [], "decode": [], "full": [], "autotuned": []}
    for _ in range(args.repeats):   # the paths alternate, so drift hits them alike
        start = time.perf_counter()
        batches = [b for b in pipeline.image_dataset(files, batch_size=32)]
        timings["decode"].append(time.perf_counter() - start)

        start = time.perf_counter()
        for b in batches:
            run(b).numpy()
        timings["model"].append(time.perf_counter() - start)
        del batches

        start = time.perf_counter()
        features.extract_features(model, files, progress=False)
        timings["full"].append(time.perf_counter() - start)

        start = time.perf_counter()
        autotuned()
        timings["autotuned"].append(time.perf_counter() - start)
    best = {k: min(v) for k, v in timings.items()}
    print(f"{n} images from {folder}, backbone {args.backbone}, best of {args.repeats}")
    for key in ("decode", "model", "full", "autotuned"):
        print(f"  {key:9} {n / best[key]:7.1f} images/s ({best[key]:.2f} s)")
    ratios = sorted(m / f for m, f in zip(timings["model"], timings["full"]))
    before = sorted(m / f for m, f in zip(timings["model"], timings["autotuned"]))
    print(f"  full path / model alone, per repeat: {', '.join(f'{r:.2f}' for r in ratios)} "
          f"(median {np.median(ratios):.2f}x; target >= 0.9)")
    print(f"  autotuned decoding / model alone:    {', '.join(f'{r:.2f}' for r in before)} "
          f"(median {np.median(before):.2f}x)")
    print(f"  peak resident memory: {rss_before:.0f} MB before, {streamed:.0f} MB after streaming "
          f"{2 * n} images")


if __name__ == "__main__":
    main()
