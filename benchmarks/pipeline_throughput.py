"""Decode + resize + features on pets-mini (issue: data pipelines).

Measures, side by side in one process:

* model     the backbone alone on in-memory batches (the same images, decoded first)
* decode    the tf.data pipeline alone (read, decode by content, resize, batch)
* full      the notebooks' path: data.extract_features(model, files)

and prints images/s, the share of the full path spent outside the model, and the
peak resident memory of the streamed pass. Needs TL_DATA_DIR (or --folder).

Usage: python benchmarks/pipeline_throughput.py [--folder DIR] [--repeats 2]
"""

import argparse
import resource
import time


from helpers import backbones, data


def rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--folder", default=None)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--backbone", default="efficientnet_lite0")
    args = parser.parse_args()
    folder = args.folder or data.find_dataset("pets-mini")
    files = data.check_folder(folder).paths()
    n = len(files)
    model = backbones.get_backbone(args.backbone, include_top=False)
    run = backbones.feature_extractor(model)

    # warm-up of every path
    data.extract_features(model, files[:64], progress=False)
    before = rss_mb()

    timings = {"model": [], "decode": [], "full": []}
    for _ in range(args.repeats):
        start = time.perf_counter()
        batches = [b for b in data.image_dataset(files, batch_size=32)]
        timings["decode"].append(time.perf_counter() - start)

        start = time.perf_counter()
        for b in batches:
            run(b).numpy()
        timings["model"].append(time.perf_counter() - start)
        del batches

        start = time.perf_counter()
        data.extract_features(model, files, progress=False)
        timings["full"].append(time.perf_counter() - start)
    best = {k: min(v) for k, v in timings.items()}
    print(f"{n} images from {folder}, backbone {args.backbone}, best of {args.repeats}")
    for key in ("decode", "model", "full"):
        print(f"  {key:7} {n / best[key]:7.1f} images/s ({best[key]:.2f} s)")
    overhead = best["full"] / best["model"] - 1
    print(f"  pipeline adds {overhead:+.1%} over the model alone "
          f"(share of the full path outside the model: {1 - best['model'] / best['full']:.1%})")

    # peak memory of a streamed pass over the files, repeated 10x (never all in memory)
    stream = data.image_dataset(files * 10, batch_size=32)
    for b in stream:
        run(b)
    print(f"  peak resident memory: {before:.0f} MB before, {rss_mb():.0f} MB after streaming "
          f"{10 * n} images")


if __name__ == "__main__":
    main()
