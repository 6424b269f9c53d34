"""Decode + resize + features on the 3,000 cats_and_dogs_filtered photos.

Measures, side by side in one process:

* model     the backbone alone on in-memory batches (the same images, decoded first)
* decode    the tf.data pipeline alone (read, decode by content, resize, batch)
* full      the notebooks' path: features.extract_features(model, files)
* one thread the same with one dedicated decoding thread and a prefetch of 2 (the
            pipeline before 2026-11-30)

This machine's speed drifts by up to 2x, sometimes within a minute, so whole
passes timed one after the other can compare a fast minute with a slow one. The
photos are therefore cut into chunks of ``--chunk`` images, and each chunk is
timed as model, full, model, one thread, model: every pipeline's ratio is taken
against the mean of the two model-alone timings around it. It prints the median
and quartiles of those ratios (target: full path >= 0.9 of the model alone),
where one photo's decode time goes (Pillow's steps, one core), the CPU
utilisation of the model alone, and the peak resident memory of a streamed pass.
Needs TL_DATA_DIR (or --folder: any folder of photos, with a class per subfolder
or Oxford names).

Usage: python benchmarks/pipeline_throughput.py [--folder DIR] [--repeats 2] [--chunk 640]
"""

import argparse
import os
import resource
import time

import numpy as np
import tensorflow as tf
from PIL import Image

from helpers.data import folders, images, pipeline, sources
from helpers.models import backbones, features


def rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def decode_steps(files, n=300):
    """Milliseconds per photo of each step of images.load_image, on one core."""
    files = files[:n]

    def per_photo(fn):
        for f in files[:20]:   # warm the file cache
            fn(f)
        start = time.perf_counter()
        for f in files:
            fn(f)
        return (time.perf_counter() - start) / len(files) * 1000

    opened = per_photo(lambda f: images.open_image(f, size=224))
    resized = per_photo(lambda f: images.open_image(f, size=224).resize(
        (224, 224), Image.Resampling.BILINEAR))
    whole = per_photo(lambda f: images.load_image(f, 224))
    return {"read + decode + upright": opened, "antialiased resize": resized - opened,
            "to float32": whole - resized, "load_image": whole}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--folder", default=None)
    parser.add_argument("--repeats", type=int, default=2, help="passes over the photos")
    parser.add_argument("--chunk", type=int, default=640, help="photos per timed chunk")
    parser.add_argument("--backbone", default="efficientnet_lite0")
    args = parser.parse_args()
    if args.folder:
        folder = args.folder
        files = folders.check_folder(folder).paths()
    else:
        folder = sources.find_dataset("cats_and_dogs_filtered")
        split = folders.presplit(folder)
        files = split.train + split.val + split.test
    files = [str(f) for f in files]
    n = len(files)
    model = backbones.get_backbone(args.backbone, include_top=False)
    run = features.feature_extractor(model)

    # warm-up of every path
    features.extract_features(model, files[:64], progress=False)
    rss_before = rss_mb()
    # peak memory of a streamed pass over the files, twice (never all in memory);
    # measured first, before the timings below hold one chunk of images in memory
    for b in pipeline.image_dataset(files * 2, batch_size=32):
        run(b)
    streamed = rss_mb()

    def one_thread(chunk):  # the pipeline as it was before: one decoding thread
        ds = tf.data.Dataset.from_tensor_slices(chunk).map(
            lambda f: pipeline.decode_image(f, 224), num_parallel_calls=1)
        options = tf.data.Options()
        options.threading.private_threadpool_size = 1
        for b in ds.batch(32).prefetch(2).with_options(options):
            run(b)

    def timed(fn, *a):
        start = time.perf_counter()
        fn(*a)
        return time.perf_counter() - start

    def model_alone(batches):
        for b in batches:
            run(b)

    seconds = {"decode": 0.0, "model": 0.0, "full": 0.0, "one thread": 0.0}
    ratios = {"full": [], "one thread": []}
    model_cpu = []
    chunk = min(args.chunk, n)
    for _ in range(args.repeats):
        for s in range(0, n - chunk + 1, chunk):
            part = files[s:s + chunk]
            start = time.perf_counter()
            batches = [b for b in pipeline.image_dataset(part, batch_size=32)]
            seconds["decode"] += time.perf_counter() - start
            cpu = cpu_seconds()
            m0 = timed(model_alone, batches)
            model_cpu.append((cpu_seconds() - cpu) / m0)
            f = timed(features.extract_features, model, part, 224, 32, False)
            m1 = timed(model_alone, batches)
            a = timed(one_thread, part)
            m2 = timed(model_alone, batches)
            del batches
            ratios["full"].append((m0 + m1) / 2 / f)
            ratios["one thread"].append((m1 + m2) / 2 / a)
            seconds["model"] += (m0 + m1 + m2) / 3
            seconds["full"] += f
            seconds["one thread"] += a
    timed_n = args.repeats * (n // chunk) * chunk
    print(f"{n} images from {folder}, backbone {args.backbone}, {args.repeats} passes in "
          f"chunks of {chunk}")
    for key in ("decode", "model", "full", "one thread"):
        print(f"  {key:10} {timed_n / seconds[key]:7.1f} images/s")
    for key, label in (("full", "full path / model alone"),
                       ("one thread", "one decoding thread / model alone")):
        q1, med, q3 = np.percentile(ratios[key], [25, 50, 75])
        print(f"  {label:33} median {med:.2f} (quartiles {q1:.2f}-{q3:.2f}, "
              f"{len(ratios[key])} chunks)" + ("; target >= 0.9" if key == "full" else ""))
    print(f"  the model alone keeps {np.median(model_cpu):.2f} of the {len(os.sched_getaffinity(0))} "
          "cores busy")
    steps = decode_steps(files)
    print("  one photo's decode on one core: " +
          ", ".join(f"{k} {v:.2f} ms" for k, v in steps.items()))
    print(f"  peak resident memory: {rss_before:.0f} MB before, {streamed:.0f} MB after streaming "
          f"{2 * n} images")


if __name__ == "__main__":
    main()
