"""Your own photos: `train` and `evaluate` on folders the tests build, bad input included."""

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest
import skimage.data
from PIL import Image

from helpers.lessons import own_photos as recipe


def _cli(*args, timeout=900):
    return subprocess.run([sys.executable, "-m", "helpers", *args], capture_output=True,
                          text=True, timeout=timeout)


@pytest.fixture(scope="module")
def own_photos(cdf, tmp_path_factory):
    """Cats and dogs as a user would lay them out, under class names with a space and
    non-ASCII letters, with mixed sizes and modes, one huge image and one text file."""
    root = tmp_path_factory.mktemp("own")
    train, test = root / "photos", root / "later"
    for cls, src in (("tabby cat", "cats"), ("chien hérissé", "dogs")):
        files = sorted((cdf / "train" / src).iterdir())
        (train / cls).mkdir(parents=True)
        (test / cls).mkdir(parents=True)
        for i, f in enumerate(files[:30]):
            if i % 5 == 0:      # some as grey PNGs, some smaller
                Image.open(f).convert("L").resize((150, 120)).save(train / cls / f"{f.stem}.png")
            else:
                shutil.copy(f, train / cls / f.name)
        for f in sorted((cdf / "validation" / src).iterdir())[:40]:
            shutil.copy(f, test / cls / f.name)
    Image.new("1", (9000, 9000)).save(train / "tabby cat" / "huge.png")      # 81 megapixels
    (train / "chien hérissé" / "notes.txt").write_text("not a photo")
    return train, test


@pytest.mark.slow
def test_train_and_evaluate_a_folder_of_own_photos(own_photos, tmp_path):
    train, test = own_photos
    model = tmp_path / "mine.keras"
    out = _cli("train", str(train), "--out", str(model), "--json")
    assert out.returncode == 0, out.stderr[-3000:]
    report = json.loads(out.stdout)
    assert report["classes"] == ["chien hérissé", "tabby cat"]
    assert report["photos"] == {"train": 48, "test": 12}             # 20% set aside
    assert [b["file"] for b in report["unusable"]] == ["tabby cat/huge.png"]
    assert report["test"]["n"] == 12 and report["test"]["ci95"][0] < report["test"]["accuracy"]
    assert {r["backbone"] for r in report["cross_validation"]} == set(recipe.AUTO_BACKBONES)
    assert report["refitted_on"] == 60 and model.exists()
    for figure in report["figures"].values():
        assert (tmp_path / figure.rsplit("/", 1)[-1]).stat().st_size > 1000
    assert (train / "tabby cat" / "huge.png").exists()               # nothing deleted
    # the reported accuracy holds on 80 photos it never saw
    out = _cli("evaluate", str(model), "--test-dir", str(test), "--json")
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout)
    assert result["images"] == 80 and result["top1"] >= 0.9
    out = _cli("predict", str(test / "tabby cat" / sorted(p.name for p in (test / "tabby cat").iterdir())[0]),
               "--model", str(model), "--json")
    assert out.returncode == 0 and json.loads(out.stdout)[0]["top"][0]["label"] == "tabby cat"


def _folder(root, counts, nested=False):
    cat = np.asarray(skimage.data.chelsea())
    for cls, n in counts.items():
        (root / cls).mkdir(parents=True)
        for i in range(n):
            Image.fromarray(np.roll(cat, 7 * i, axis=1)).save(root / cls / f"{i}.jpg")
    if nested:
        (root / next(iter(counts)) / "more").mkdir()
    return root


@pytest.mark.parametrize("make, message", [
    (lambda p: p / "nope", "no such folder"),
    (lambda p: (p / "file.jpg").write_bytes(b"x") and p / "file.jpg", "is a file"),
    (lambda p: p, "no class folders"),
    (lambda p: _folder(p, {"a": 0, "b": 0}), "no usable photos"),
    (lambda p: _folder(p, {"only": 10}), "only one class"),
    (lambda p: _folder(p, {"a": 10, "b": 3}), r"too few training photos in b \(3\).*at least 8"),
    (lambda p: _folder(p, {"a": 10, "b": 10}, nested=True), "nested folders are not read"),
])
def test_bad_folders_get_a_message_naming_the_fix(tmp_path, make, message):
    folder = make(tmp_path / "in") if "nope" in message else make(_mk(tmp_path / "in"))
    with pytest.raises(recipe.PhotoFolderError, match=message):
        recipe.read_class_folder(folder)
    out = _cli("train", str(folder), "--out", str(tmp_path / "m.keras"), timeout=300)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert not (tmp_path / "m.keras").exists()


def test_a_class_without_usable_photos_is_left_out_with_a_note_on_stderr(tmp_path, capsys):
    folder = _folder(tmp_path / "in", {"a": 8, "b": 8})
    (folder / "c").mkdir()
    (folder / "c" / "broken.jpg").write_text("not a photo")
    data = recipe.read_class_folder(folder)
    assert data.class_names == ["a", "b"] and len(data.files) == 16
    out, err = capsys.readouterr()
    assert "c in" in err and "left out" in err and "left out" not in out
    assert (folder / "c" / "broken.jpg").exists()  # reported, never deleted
    recipe.read_class_folder(folder, quiet=True)
    assert "left out" not in capsys.readouterr().err


def _mk(path):
    path.mkdir(parents=True, exist_ok=True)
    return path
