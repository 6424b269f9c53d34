"""The grader under attack (issue #27): a hostile class graded in one run.

Every case here stopped the whole class, scored without looking at a photo, left
files behind, or wrote something unsafe, before the grader was hardened.
"""

import csv
import json
import os
import re
import subprocess
import sys
import zipfile

import keras
import numpy as np
import pytest

from helpers.lessons import train
from helpers.grader import gradebook, inspection, testphotos


def _rezip(src, dst, config=None, extra=None):
    """A copy of the .keras archive ``src``, its config.json text changed by ``config``."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename == "config.json" and config is not None:
                data = config(data.decode()).encode()
            zout.writestr(item.filename, data)
        for name, data in (extra or {}).items():
            zout.writestr(name, data)
    return dst


def _patch_headers(path, offset_local, offset_central, value: bytes):
    """Overwrite two bytes in every local and central zip header (flags, method)."""
    data = bytearray(path.read_bytes())
    for signature, offset in ((b"PK\x03\x04", offset_local), (b"PK\x01\x02", offset_central)):
        for m in re.finditer(re.escape(signature), bytes(data)):
            data[m.start() + offset:m.start() + offset + 2] = value
    path.write_bytes(bytes(data))
    return path


def _input_shape(text, shape):
    return re.sub(r'"batch_shape": \[null, 224, 224, 3\]', f'"batch_shape": [null, {shape}, 3]',
                  text, count=1)


@pytest.fixture(scope="module")
def hostile_class(breed_model, tmp_path_factory):
    good, test_dir, split, _ = breed_model
    names = split.classes
    subs = tmp_path_factory.mktemp("hostile") / "submissions"
    subs.mkdir()
    (subs / "ada.keras").write_bytes(good.read_bytes())
    _rezip(good, subs / "deep.keras", lambda t: "[" * 100_000 + "]" * 100_000)
    _rezip(good, subs / "listlayer.keras",
           lambda t: t.replace('"layers": [{', '"layers": [[1, 2], {', 1))
    _patch_headers(_rezip(good, subs / "encrypted.keras"), 6, 8, b"\x01\x00")
    _patch_headers(_rezip(good, subs / "compression.keras"), 8, 10, b"\x63\x00")
    _rezip(good, subs / "negative.keras", lambda t: _input_shape(t, "-5, -5"))
    _rezip(good, subs / "infinity.keras", lambda t: _input_shape(t, "Infinity, Infinity"))
    _rezip(good, subs / "bigint.keras", lambda t: _input_shape(t, "1" * 5000 + ", 224"))
    _rezip(good, subs / "inodes.keras", extra={f"x/{i}": b"" for i in range(2000)})
    _rezip(good, subs / "escape.keras", lambda t: t.replace(      # Keras repeats it in its error
        '"class_name": "InputLayer"', '"class_name": "\\u001b[2K\\rPASS 100.0"', 1))
    counter = keras.Sequential([
        keras.Input((224, 224, 3), batch_size=16), keras.layers.GlobalAveragePooling2D(),
        keras.layers.Reshape((1, 3)), keras.layers.SimpleRNN(1, stateful=True),
        keras.layers.Dense(37, activation="softmax")])
    train.save_classifier(counter, subs / "counter.keras", names)   # counts its calls
    (subs / '=HYPERLINK("x")').mkdir()                      # a formula as a name
    (subs / '=HYPERLINK("x")' / "m.keras").write_bytes(good.read_bytes())
    (subs / "zed~victim.keras").write_bytes(good.read_bytes())
    escape = keras.Sequential([keras.Input((224, 224, 3)), keras.layers.GlobalAveragePooling2D(),
                               keras.layers.Dense(37, activation="softmax")])
    train.save_classifier(escape, subs / "zed_victim.keras",
                          ["\x1b[2K\rPASS 100.0"] + names[1:])     # escape codes in a class name
    slow = keras.Sequential([keras.Input((224, 224, 3))] + [
        keras.layers.Conv2D(64, 3, padding="same") for _ in range(48)] + [
        keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(37, activation="softmax")])
    train.save_classifier(slow, subs / "killed.keras", names)      # killed mid-run
    return subs, test_dir


EXPECTED = {
    "ada": ("ok", ""),
    "deep": ("refused", ""), "listlayer": ("failed", ""), "encrypted": ("refused", "encrypted"),
    "compression": ("refused", "compression method 99"),
    "negative": ("refused", "input is declared"), "infinity": ("refused", "input is declared"),
    "bigint": ("refused", "not valid JSON"), "inodes": ("refused", "files, over the limit"),
    "counter": ("refused", "stateful layer (SimpleRNN)"), "escape": ("failed", ""),
    '=HYPERLINK("x")': ("ok", ""), "zed~victim": ("ok", ""),
    "zed_victim": ("ok", "does not know"), "killed": ("timeout", "longer than"),
}


@pytest.mark.slow
def test_a_hostile_class_is_graded_in_one_run(hostile_class, tmp_path):
    subs, test_dir = hostile_class
    private_tmp = tmp_path / "tmp"
    private_tmp.mkdir()
    out = tmp_path / "gradebook.csv"
    result = subprocess.run(
        [sys.executable, "-m", "helpers", "grade", str(subs), "--test-dir", str(test_dir),
         "--out", str(out), "--timeout", "20", "--workers", "1", "--seed", "7"],
        capture_output=True, text=True, timeout=900, env={**os.environ, "TMPDIR": str(private_tmp)})
    assert result.returncode == 0, result.stderr[-3000:]
    assert "\x1b" not in result.stdout and "order seed 7" in result.stdout
    with open(out, newline="", encoding="utf-8") as f:
        text = f.read()
    assert "\x1b" not in text
    rows = {r["student"]: r for r in csv.DictReader(text.splitlines())}
    rows = {name.removeprefix("'"): row for name, row in rows.items()}
    assert set(rows) == set(EXPECTED)
    for student, (status, reason) in EXPECTED.items():
        assert rows[student]["status"] == status, (student, rows[student])
        assert reason in rows[student]["reason"], (student, rows[student]["reason"])
        assert rows[student]["order_seed"] == "7"
    # a formula is quoted; the copies of the good model all score the same
    assert any(line.startswith("\"'=HYPERLINK") for line in text.splitlines())
    assert rows["ada"]["score"] == rows["zed~victim"]["score"] == rows['=HYPERLINK("x")']["score"]
    assert float(rows["ada"]["top1"]) >= 0.8
    # one feedback file per student, none overwritten
    feedback = sorted((tmp_path / "feedback").iterdir())
    assert len(feedback) == len(EXPECTED)
    owners = [p.read_text().splitlines()[0] for p in feedback]
    assert len(set(owners)) == len(EXPECTED)
    assert all("\x1b" not in p.read_text() for p in feedback)
    # nothing left in the temporary folder, though one child was killed mid-run
    assert list(private_tmp.iterdir()) == []


def test_the_photos_reach_each_model_shuffled_and_unevenly_batched():
    order, batches = testphotos.order_and_batches(180, seed=7, student="ada")
    assert sorted(order) == list(range(180)) and list(order) != list(range(180))
    assert sum(batches) == 180 and len(set(batches[:-1])) > 3
    again, _ = testphotos.order_and_batches(180, seed=7, student="ada")
    other, _ = testphotos.order_and_batches(180, seed=8, student="ada")
    assert list(again) == list(order) and list(other) != list(order)
    outputs = np.arange(180)[order]                   # what a model says, in that order
    assert list(testphotos.unshuffle(outputs, order)) == list(range(180))


def test_spreadsheet_cells_and_file_names_are_safe():
    for cell in ("=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"):
        assert gradebook.spreadsheet_safe(cell).startswith("'")
    assert gradebook.spreadsheet_safe("ada") == "ada"
    assert gradebook.safe_name("zed~victim") != gradebook.safe_name("zed_victim")
    assert gradebook.safe_name("ada") == "ada"
    assert gradebook.clean("a\x1b[2Kb\nc") == "a?[2Kb?c"


def test_decoding_holds_one_photo_at_a_time(breed_model, tmp_path):
    """The decoded copy is a memory-mapped file, written photo by photo, and deleted
    once the last submission of its size is done."""
    _, test_dir, _, _ = breed_model
    test = gradebook.load_test_set(test_dir)
    shared = testphotos.DecodedPhotos(test, tmp_path, [96, 96])
    path = shared.get(96)
    stack = np.load(path, mmap_mode="r")
    assert stack.shape == (len(test.files), 96, 96, 3) and isinstance(stack, np.memmap)
    del stack
    shared.release(96)
    assert path.exists()
    shared.release(96)
    assert not path.exists()


def test_inspection_never_raises_anything_but_a_refusal(hostile_class):
    subs, _ = hostile_class
    for name in ("deep", "encrypted", "compression", "negative", "infinity", "bigint",
                 "inodes", "counter"):
        with pytest.raises(inspection.RefusedSubmission):
            inspection.inspect(subs / f"{name}.keras")
    assert json.dumps(inspection.inspect(subs / "ada.keras").class_names)
