import json
import subprocess
import sys

import numpy as np
import pytest
import skimage.data
from PIL import Image

from helpers.models.labels import CAT_CLASSES


def run(*args):
    return subprocess.run([sys.executable, "-m", "helpers", *args],
                          capture_output=True, text=True, timeout=300)


@pytest.mark.slow  # 14-24 s: make test runs it, make check leaves it out
def test_predict_text_and_json_with_a_bad_file(tmp_path):
    cat = tmp_path / "chelsea.png"
    Image.fromarray(skimage.data.chelsea()).save(cat)
    cmyk = tmp_path / "coffee_cmyk.jpg"
    Image.fromarray(skimage.data.coffee()).convert("CMYK").save(cmyk)
    gray16 = tmp_path / "chelsea16.png"
    g = np.asarray(Image.fromarray(skimage.data.chelsea()).convert("L"), np.uint16) * 257
    Image.fromarray(g).save(gray16)
    bad = tmp_path / "broken.jpg"
    bad.write_text("this is not an image")

    text = run("predict", str(cat), str(bad), str(cmyk), "--top", "3")
    assert text.returncode == 1
    assert "broken.jpg" in text.stderr
    assert "chelsea.png" in text.stdout and "coffee_cmyk.jpg" in text.stdout

    js = run("predict", str(cat), str(bad), str(cmyk), str(gray16), "--json", "--top", "2")
    assert js.returncode == 1
    results = json.loads(js.stdout)
    assert [r["file"] for r in results] == [str(cat), str(cmyk), str(gray16)]
    assert results[0]["top"][0]["index"] in CAT_CLASSES
    assert results[1]["top"][0]["index"] == 967
    assert all(len(r["top"]) == 2 for r in results)
    assert {"index", "label", "prob"} <= set(results[0]["top"][0])


def test_predict_all_good_exits_zero(tmp_path):
    cat = tmp_path / "chelsea.jpg"
    Image.fromarray(skimage.data.chelsea()).save(cat)
    out = run("predict", str(cat), "--json", "--top", "1")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)[0]["top"][0]["index"] in CAT_CLASSES


def test_predict_unknown_backbone(tmp_path):
    out = run("predict", "x.jpg", "--backbone", "nope")
    assert out.returncode == 2 and "valid names" in out.stderr
