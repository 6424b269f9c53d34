"""Decode + resize + features on the 3,000 cats_and_dogs_filtered photos.

Measures, side by side in one process:

* model     the backbone alone on in-memory batches (the same images, decoded first)
* decode    the tf.data pipeline alone (read, decode by content, resize, batch)
* full      the notebooks' path: features.extract_features(model, files)

and prints images/s, the full path as a ratio of the model alone (target >= 0.9),
and the peak resident memory of a streamed pass. Needs TL_DATA_DIR (or --folder:
any folder of photos, with a class per subfolder or Oxford names).

Usage: python benchmarks/pipeline_throughput.py [--folder DIR] [--repeats 2]
"""

import argparse
import resource
import time


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
    before = rss_mb()

    timings = {"model": [], "decode": [], "full": []}
    for _ in range(args.repeats):
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
    best = {k: min(v) for k, v in timings.items()}
    print(f"{n} images from {folder}, backbone {args.backbone}, best of {args.repeats}")
    for key in ("decode", "model", "full"):
        print(f"  {key:7} {n / best[key]:7.1f} images/s ({best[key]:.2f} s)")
    print(f"  full path / model alone: {best['model'] / best['full']:.2f}x "
          f"(the pipeline adds {best['full'] / best['model'] - 1:+.1%})")

    # peak memory of a streamed pass over the files, repeated 10x (never all in memory)
    stream = pipeline.image_dataset(files * 10, batch_size=32)
    for b in stream:
        run(b)
    print(f"  peak resident memory: {before:.0f} MB before, {rss_mb():.0f} MB after streaming "
          f"{10 * n} images")


if __name__ == "__main__":
    main()
