"""Your own photos (issue: own photos): `train` on 1,000 photos of about 250 px, cold cache.

Writes 1,000 photos of cats_and_dogs_filtered, resized to 250 px on the short
side, as a user's folder (``cats/``, ``dogs/``), points the course cache at an
empty folder, and times ``recipe.train_folder`` end to end: checking, features
of both candidate backbones, cross-validation, the one test, the refit, the
saved model and the figures. Target: within 60 s on 2 cores.

Usage: TL_DATA_DIR=../shared/data python benchmarks/own_photos.py [--photos 1000]
"""

import argparse
import os
import tempfile
import time
from pathlib import Path

from PIL import Image

from helpers.data import sources
from helpers.lessons import own_photos
from helpers.lessons.metrics import ci_text


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--photos", type=int, default=1000)
    args = parser.parse_args()
    root = sources.find_dataset("cats_and_dogs_filtered")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        os.environ["TL_CACHE_DIR"] = str(tmp / "cache")          # cold
        for cls in ("cats", "dogs"):
            (tmp / "photos" / cls).mkdir(parents=True)
            for f in sorted((root / "train" / cls).iterdir())[:args.photos // 2]:
                with Image.open(f) as img:
                    scale = 250 / min(img.size)
                    img.convert("RGB").resize((round(img.width * scale), round(img.height * scale)),
                                              Image.Resampling.BILINEAR).save(
                        tmp / "photos" / cls / f.name, quality=90)
        start = time.perf_counter()
        report = own_photos.train_folder(tmp / "photos", tmp / "model.keras", progress=False)
        seconds = time.perf_counter() - start
    t = report["test"]
    print(f"{args.photos} photos of 250 px, cold cache: {seconds:.1f} s end to end "
          f"(chosen {report['chosen']['backbone']}, C={report['chosen']['C']}; test accuracy "
          f"{ci_text(t['accuracy'], *t['ci95'], t['n'])})")


if __name__ == "__main__":
    main()
