"""One image path (EXIF, frames, the pipeline equals a single photo) and saved models
that load with plain Keras."""

import gc
import json
import subprocess
import sys
import weakref

import numpy as np
import pytest
import skimage.data
from PIL import Image

from helpers.data import folders, images, pipeline
from helpers.models import features
from helpers.lessons import train


def _exif_rotated(path, array, orientation):
    exif = Image.Exif()
    exif[0x0112] = orientation          # Orientation
    Image.fromarray(array).save(path, format="JPEG", quality=95, exif=exif)


def test_phone_photos_arrive_upright(tmp_path):
    # A phone stores the sensor's pixels and an EXIF tag saying "rotate 90 degrees
    # clockwise to view" (orientation 6): the course must show the photo upright.
    upright = skimage.data.chelsea()                           # 300 x 451, landscape
    stored = np.rot90(upright, k=1)                            # what the sensor wrote
    _exif_rotated(tmp_path / "phone.jpg", stored, 6)
    full = images.load_image(tmp_path / "phone.jpg", size=None)
    assert full.shape == upright.shape                         # landscape again
    assert np.abs(full - upright).mean() < 6                   # and the same picture
    ignored = np.asarray(Image.open(tmp_path / "phone.jpg").convert("RGB"), "float32")
    assert ignored.shape != upright.shape                      # control: plain Pillow is sideways


def test_the_pipeline_reads_exactly_what_load_image_reads(tmp_path):
    rng = np.random.default_rng(0)
    files = []
    for i, (h, w) in enumerate([(480, 640), (900, 700), (120, 90)]):     # DCT scaling on the big ones
        arr = (rng.uniform(0, 255, (h // 8, w // 8, 3))).astype(np.uint8)
        path = tmp_path / f"{i}.jpg"
        Image.fromarray(arr).resize((w, h), Image.Resampling.BICUBIC).save(path, quality=90)
        files.append(path)
    _exif_rotated(tmp_path / "phone.jpg", skimage.data.coffee(), 8)
    files.append(tmp_path / "phone.jpg")
    batch = pipeline.load_images(files, image_size=96)
    single = np.stack([images.load_image(f, 96) for f in files])
    np.testing.assert_array_equal(batch, single)


def test_animation_bombs_are_refused_by_frame_count(tmp_path, monkeypatch):
    frames = [Image.new("RGB", (16, 16), (20 * i, 255 - 20 * i, 0)) for i in range(12)]
    frames[0].save(tmp_path / "anim.gif", save_all=True, append_images=frames[1:])
    assert images.load_image(tmp_path / "anim.gif", 8).shape == (8, 8, 3)   # first frame
    monkeypatch.setenv("TL_MAX_FRAMES", "10")
    with pytest.raises(images.ImageError, match="12 frames.*TL_MAX_FRAMES"):
        images.load_image(tmp_path / "anim.gif", 8)
    ok, reason = folders.check_image_file(tmp_path / "anim.gif")
    assert not ok and "frames" in reason


def test_more_formats_read_the_same_way(tmp_path):
    for fmt in ("WEBP", "TIFF", "BMP"):
        path = tmp_path / f"cat.{fmt.lower()}"
        Image.fromarray(skimage.data.chelsea()).save(path, format=fmt)
        assert folders.check_image_file(path) == (True, "")
        assert images.load_image(path, 32).std() > 5


def test_a_model_is_collected_after_feature_extraction():
    import keras

    model = keras.Sequential([keras.Input((4, 4, 3)), keras.layers.GlobalAveragePooling2D()])
    features.feature_extractor(model)(np.zeros((1, 4, 4, 3), "float32"))
    ref = weakref.ref(model)
    del model
    gc.collect()
    assert ref() is None, "feature_extractor keeps the model alive"


PLAIN_LOAD = """
import sys, json
sys.modules["helpers"] = None            # the course's code cannot be imported
import numpy as np, keras
model = keras.models.load_model(sys.argv[1])
x = np.load(sys.argv[2])
print(json.dumps(model(x, training=False).numpy().tolist()))
"""


def test_a_saved_classifier_loads_with_plain_keras(tmp_path):
    rng = np.random.default_rng(0)
    head = train.make_head(1280, 3)
    head.set_weights([rng.normal(0, 0.1, w.shape).astype("float32") for w in head.get_weights()])
    model, _ = train.build_classifier(head, image_size=96)
    path = train.save_classifier(model, tmp_path / "model.keras", ["a", "b", "c"])
    x = np.stack([images.resize_array(skimage.data.chelsea(), 96),
                  images.resize_array(skimage.data.coffee(), 96)])
    np.save(tmp_path / "x.npy", x)
    out = subprocess.run([sys.executable, "-c", PLAIN_LOAD, str(path), str(tmp_path / "x.npy")],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    np.testing.assert_allclose(json.loads(out.stdout), model(x).numpy(), atol=1e-5)
    assert train.load_classifier(path)[1] == ["a", "b", "c"]
    # control: the same script really cannot import the course's code
    probe = subprocess.run([sys.executable, "-c", PLAIN_LOAD.split("import numpy")[0] +
                            "import helpers"], capture_output=True, text=True, timeout=60)
    assert probe.returncode != 0 and "import of helpers halted" in probe.stderr
