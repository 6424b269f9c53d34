"""cats_and_dogs_filtered: manifest, offline staging and the dataset's own split."""

import hashlib
import json
import shutil
import subprocess
import sys

import pytest

from helpers.data import folders, sources


def _small_copy(cdf, tmp_path, per_class=3):
    """A copy of a few photos of each split and class, with its own manifest."""
    root = tmp_path / "cats_and_dogs_filtered"
    lines = []
    for split in ("train", "validation"):
        for cls in ("cats", "dogs"):
            for src in sorted((cdf / split / cls).iterdir())[:per_class]:
                dst = root / split / cls / src.name
                dst.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(src, dst)
                lines.append(f"{hashlib.sha256(dst.read_bytes()).hexdigest()}  "
                             f"{split}/{cls}/{src.name}")
    manifest = tmp_path / "small.sha256"
    manifest.write_text("\n".join(lines) + "\n")
    return root, manifest


def test_shipped_manifest_matches_the_offline_copy(cdf):
    assert len(sources.read_manifest("cats_and_dogs_filtered.sha256")) == 3000
    assert sources.verify_manifest(cdf, "cats_and_dogs_filtered.sha256") == {}


def test_manifest_names_changed_missing_and_extra_files(cdf, tmp_path):
    root, manifest = _small_copy(cdf, tmp_path)
    assert sources.verify_manifest(root, manifest) == {}
    changed = root / "train" / "cats" / sorted(p.name for p in (root / "train" / "cats").iterdir())[0]
    changed.write_bytes(changed.read_bytes()[:-10])                 # truncated
    missing = sorted((root / "validation" / "dogs").iterdir())[0]
    missing.unlink()
    extra = root / "train" / "dogs" / "dog.99999.jpg"
    shutil.copy(sorted((root / "train" / "dogs").iterdir())[0], extra)
    before = {p: p.read_bytes() for p in root.rglob("*.jpg")}
    problems = sources.verify_manifest(root, manifest)
    assert problems == {"missing": [f"validation/dogs/{missing.name}"],
                        "extra": ["train/dogs/dog.99999.jpg"],
                        "changed": [f"train/cats/{changed.name}"]}
    assert {p: p.read_bytes() for p in root.rglob("*.jpg")} == before   # nothing touched
    message = sources.format_manifest_problems(root, problems)
    assert "dog.99999.jpg" in message and missing.name in message and "nothing was changed" in message


def test_offline_staging_from_tl_data_dir(cdf, tmp_path, monkeypatch):
    root, _ = _small_copy(cdf, tmp_path / "staged")
    monkeypatch.setenv("TL_DATA_DIR", str(tmp_path / "staged"))
    monkeypatch.setenv("TL_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(sources, "online", lambda: False)
    assert sources.find_dataset("cats_and_dogs_filtered", download_if_missing=True) == root
    monkeypatch.setenv("TL_DATA_DIR", str(tmp_path / "elsewhere"))
    with pytest.raises(sources.DatasetUnavailableError, match="offline.*data fetch cats_and_dogs"):
        sources.find_dataset("cats_and_dogs_filtered", download_if_missing=True)


def test_presplit_is_stratified_seeded_and_keeps_test_apart(cdf):
    a = folders.presplit(cdf, val=0.15, seed=42)
    b = folders.presplit(cdf, val=0.15, seed=42)
    c = folders.presplit(cdf, val=0.15, seed=7)
    assert (a.train, a.val, a.test) == (b.train, b.val, b.test) and a.val != c.val
    assert len(a.train) == 1700 and len(a.val) == 300 and len(a.test) == 1000
    assert all("/validation/" in f for f in a.test)
    assert not set(a.test) & (set(a.train) | set(a.val)) and not set(a.train) & set(a.val)
    val_labels = [a.labels[f] for f in a.val]
    assert val_labels.count("cats") == val_labels.count("dogs") == 150


def test_data_check_verifies_the_manifest(cdf, tmp_path):
    out = subprocess.run([sys.executable, "-m", "helpers", "data", "check", str(cdf), "--json"],
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["manifest"]["problems"] == {}
    assert [s["usable"] for s in report["splits"]] == [2000, 1000]
    root, _ = _small_copy(cdf, tmp_path)             # a copy under the dataset's name
    out = subprocess.run([sys.executable, "-m", "helpers", "data", "check", str(root)],
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 1 and "2988 missing" in out.stdout and "nothing was changed" in out.stderr
