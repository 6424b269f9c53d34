"""What would make notebook 05 faster, and what each lever costs in accuracy.

Nearly all of notebook 05's time is its twelve trainings: on each of the four
domains, a CNN from scratch (the scratch CNN, about 70 k weights) and the top
blocks of Lite0 fine-tuned on cached activations. The data, the activations and
the frozen head are cheap beside them. This script runs the notebook's quick
profile (the same data, splits and seed, through `transfer.train_scratch` and
`transfer.fine_tune`), once as the notebook does it and once per lever that
would spend less computation, and prints, per domain, seconds and the test
accuracy (95% interval, n), and for fine-tuning McNemar's verdict against the
frozen head (does it still pay?).

Levers:

* scratch, 4 epochs instead of 6;
* scratch, batches of 256 at a learning rate of 5e-3 (fewer, larger steps);
* scratch in mixed bfloat16 (on CPUs with AVX512-BF16);
* fine-tuning, 1 epoch at twice the learning rate instead of 2 epochs.

Seconds drift with this machine (up to 2x): compare them within one run. Needs
TL_DATA_DIR. Takes about 10 minutes on 2 cores.

Usage: python benchmarks/domain_levers.py [--domains mnist cifar10] [--part scratch|fine-tune|both]
"""

import argparse
import time

import keras
import numpy as np

from helpers.data import arrays
from helpers.models import features
from helpers.lessons import metrics, three_ways

# notebook 05's quick profile
TRAIN = {"mnist": None, "fashion_mnist": 4000, "cifar10": 4000, "chest_xray": None}
SIZE = {"mnist": 96, "fashion_mnist": 96, "cifar10": 96, "chest_xray": 160}
SCRATCH = [("as notebook 05 (6 epochs, batch 128, lr 3e-3)", {}, "float32"),
           ("4 epochs", dict(epochs=4), "float32"),
           ("batch 256, lr 5e-3", dict(batch_size=256, learning_rate=5e-3), "float32"),
           ("mixed bfloat16", {}, "mixed_bfloat16")]
FINE_TUNE = [("as notebook 05 (2 epochs, lr 1e-4)", dict(epochs=2)),
             ("1 epoch, lr 2e-4", dict(epochs=1, learning_rate=2e-4))]


def domain(name, seed=0):
    """Notebook 05's train / validation / test parts of one domain."""
    def subset(data, n):
        return data if n is None else data.subset(arrays.carve(data, n, seed)[1])

    part = subset(arrays.load(name, "train"), TRAIN[name])
    rest, val = arrays.carve(part, len(part) // 5, seed)
    test = arrays.load(name, "test")
    return part.subset(rest), part.subset(val), test if name == "chest_xray" else subset(test, 2000)


def scratch_rows(name, train, val, test):
    for label, kw, policy in SCRATCH:
        keras.mixed_precision.set_global_policy(policy)
        start = time.perf_counter()
        model, history, _ = three_ways.train_scratch(
            train.x, train.y, val.x, val.y, len(train.class_names),
            size=48 if name == "chest_xray" else None, **{"epochs": 6, **kw})
        pred = three_ways.predict_scratch(model, test.x).argmax(1)
        keras.mixed_precision.set_global_policy("float32")
        print(f"{name:14} from scratch     {label:46} {time.perf_counter() - start:5.1f} s  "
              f"{metrics.accuracy(test.y, pred)}", flush=True)


def fine_tune_rows(name, train, val, test):
    size = SIZE[name]
    bottom, top = three_ways.split_backbone("efficientnet_lite0", size)
    acts = {p: three_ways.cached_activations("efficientnet_lite0", d.x, size, progress=False,
                                           bottom=bottom)
            for p, d in (("train", train), ("val", val), ("test", test))}
    feats = {p: three_ways.pooled(top, a) for p, a in acts.items()}
    head, _, _ = three_ways.frozen_head(feats["train"], train.y, train.groups)
    frozen = head.predict(feats["test"], verbose=0).argmax(1)
    print(f"{name:14} frozen features {'(the reference for McNemar)':46} {'':7}  "
          f"{metrics.accuracy(test.y, frozen)}", flush=True)
    for label, kw in FINE_TUNE:
        start = time.perf_counter()
        tuned, _, _ = three_ways.fine_tune(top, head, acts["train"], train.y, acts["val"], val.y,
                                         **kw)
        pred = np.concatenate([features.feature_extractor(tuned)(acts["test"][i:i + 256].astype("float32")).argmax(1)
                               for i in range(0, len(test), 256)])
        fixed, broken, p = metrics.mcnemar(test.y, frozen, pred)
        verdict = "no difference shown" if p >= 0.05 else "pays" if fixed > broken else "hurts"
        print(f"{name:14} fine-tuned top  {label:46} {time.perf_counter() - start:5.1f} s  "
              f"{metrics.accuracy(test.y, pred)}  fixed {fixed}, broke {broken}, "
              f"p = {p:.2g}: {verdict}", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--domains", nargs="+", default=list(arrays.DOMAINS))
    parser.add_argument("--part", choices=("scratch", "fine-tune", "both"), default="both")
    args = parser.parse_args()
    for name in args.domains:
        parts = domain(name)
        if args.part in ("scratch", "both"):
            scratch_rows(name, *parts)
        if args.part in ("fine-tune", "both"):
            fine_tune_rows(name, *parts)


if __name__ == "__main__":
    main()
