"""The course's one disk cache (:mod:`helpers.cache`, issue #45): entries named by what
they were computed from, damaged ones computed again, failures to write reported, and
every cache of the course going through it."""

import os
from pathlib import Path

import numpy as np

from helpers import cache

ROOT = Path(__file__).resolve().parents[1]


def test_an_entry_changes_with_its_inputs(tmp_path, monkeypatch):
    monkeypatch.setenv("TL_CACHE_DIR", str(tmp_path / "c"))
    photo = tmp_path / "a.jpg"
    photo.write_bytes(b"x")
    first = cache.entry("features", "lite0-224", "v4", files=[photo])
    assert first.parent == tmp_path / "c" / "features" and first.name.startswith("lite0-224-")
    assert first == cache.entry("features", "lite0-224", "v4", files=[photo])
    assert first != cache.entry("features", "lite0-224", "v5", files=[photo])   # the recipe
    os.utime(photo, ns=(1, 1))
    assert first != cache.entry("features", "lite0-224", "v4", files=[photo])   # the file
    pixels = np.zeros((2, 4, 4, 1), "uint8")
    a = cache.entry("activations", "x", data=pixels, suffix=".npy")
    pixels[0, 0, 0, 0] = 1
    assert a != cache.entry("activations", "x", data=pixels, suffix=".npy")     # the pixels


def test_computed_once_then_read(tmp_path):
    calls = []

    def compute():
        calls.append(1)
        return {"features": np.arange(6.0).reshape(3, 2)}
    path = tmp_path / "f.npz"
    first = cache.cached(path, compute)
    again = cache.cached(path, compute)
    assert len(calls) == 1
    np.testing.assert_array_equal(first["features"], again["features"])
    assert cache.cached(tmp_path / "r.json", lambda: {"a": [1]}) == {"a": [1]}
    assert cache.load(tmp_path / "r.json") == {"a": [1]}


def test_a_damaged_entry_is_said_and_computed_again(tmp_path, capsys):
    path = tmp_path / "f.npz"
    path.write_bytes(b"PK\x03\x04 not a zip")
    assert cache.load(path) is None
    assert "f.npz is damaged" in capsys.readouterr().out
    value = cache.cached(path, lambda: {"x": np.ones(2)})
    np.testing.assert_array_equal(cache.load(path)["x"], value["x"])


def test_a_cache_that_cannot_be_written_still_gives_the_value(tmp_path, capsys):
    blocked = tmp_path / "file"
    blocked.write_text("a file where the cache folder should be")
    value = cache.cached(blocked / "features" / "f.npy", lambda: np.ones(3))
    np.testing.assert_array_equal(value, np.ones(3))
    assert "could not cache f.npy" in capsys.readouterr().out
    assert blocked.read_text().startswith("a file")          # nothing lost


def test_a_pickle_in_the_cache_is_not_run(tmp_path):
    path = tmp_path / "evil.npy"
    np.save(path, np.array([object()], dtype=object), allow_pickle=True)
    assert cache.load(path) is None


def test_every_cache_of_the_course_goes_through_it():
    """No module but helpers/cache.py names the cache folder, except as the downloaded
    datasets' staging folder (``cache_dir() / "datasets"``)."""
    named = {}
    for path in (ROOT / "helpers").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        uses = text.count("cache_dir()") - text.count('cache_dir() / "datasets"')
        if uses and path.name not in ("cache.py", "settings.py"):
            named[path.relative_to(ROOT).as_posix()] = uses
    assert named == {}
    assert "cache_dir()" in (ROOT / "helpers" / "cache.py").read_text(encoding="utf-8")
