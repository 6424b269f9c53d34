"""Feature-extraction throughput per backbone at its own input size, batch 32.

Side by side in one process (this machine's speed drifts up to 2x between runs,
so only the ratios are comparable across runs):

* bare      the model called inside a plain tf.function on an in-memory batch
* helpers   features.feature_extractor, the wrapper the notebooks use
* predict   model.predict on the same batches
* bf16      the bare path under mixed_bfloat16 (helps ResNet50 on CPUs with AVX512-BF16)

Usage: python benchmarks/backbone_throughput.py [--batches 6] [--backbones a,b]
"""

import argparse
import time

import keras
import numpy as np
import tensorflow as tf

from helpers.models import backbones, features


def images_per_second(fn, batch, repeats):
    fn(batch)  # warm-up (tracing, oneDNN kernel selection)
    start = time.perf_counter()
    for _ in range(repeats):
        out = fn(batch)
        np.asarray(out)
    return repeats * batch.shape[0] / (time.perf_counter() - start)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batches", type=int, default=6)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--backbones", default=",".join(backbones.available_backbones()))
    parser.add_argument("--no-random-weights", dest="random_weights", action="store_false",
                        help="skip backbones whose ImageNet weights are not here (by default "
                             "they are timed with random weights, marked *: same speed)")
    parser.add_argument("--no-bf16", dest="bf16", action="store_false",
                        help="skip the mixed_bfloat16 row per backbone")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    print(f"batch {args.batch_size} at each backbone's size, {args.batches} timed batches; "
          f"TF {tf.__version__}, Keras {keras.__version__}")
    print("* random weights (ImageNet weights not on this machine): same speed, no accuracy")
    print(f"{'backbone':20} {'size':>4} {'params':>7} {'bare img/s':>11} {'helpers':>9} "
          f"{'ratio':>6} {'predict':>8} {'ratio':>6}")
    for name in args.backbones.split(","):
        weights, shown = "imagenet", name
        if not backbones.weights_available(name):
            if not args.random_weights:
                print(f"{name:20} weights not available offline (skipped)")
                continue
            weights, shown = None, name + "*"
        model = backbones.get_backbone(name, include_top=False, weights=weights)
        size = backbones.input_size(name)
        batch = tf.constant(rng.uniform(0, 255, (args.batch_size, size, size, 3)), tf.float32)
        bare_fn = tf.function(lambda x, m=model: m(x, training=False))
        bare = images_per_second(bare_fn, batch, args.batches)
        helper = images_per_second(features.feature_extractor(model), batch, args.batches)
        pred = images_per_second(lambda x, m=model: m.predict(x, verbose=0, batch_size=len(x)),
                                 batch, args.batches)
        print(f"{shown:20} {size:4d} {model.count_params() / 1e6:6.1f}M {bare:11.1f} "
              f"{helper:9.1f} {helper / bare:6.2f} {pred:8.1f} {pred / bare:6.2f}")
        if args.bf16:
            keras.mixed_precision.set_global_policy("mixed_bfloat16")
            m16 = backbones.get_backbone(name, include_top=False, weights=weights)
            bf16 = images_per_second(tf.function(lambda x, m=m16: m(x, training=False)), batch,
                                     args.batches)
            keras.mixed_precision.set_global_policy("float32")
            print(f"{shown + ' bf16':20} {bf16:11.1f} {'':>9} {bf16 / bare:6.2f}  (vs float32 bare)")


if __name__ == "__main__":
    main()
