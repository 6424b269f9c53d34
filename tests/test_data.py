import hashlib
import io
import json
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pytest
import skimage.data
from PIL import Image

from helpers.data import folders, pipeline, sources
from helpers.models import features

CHELSEA = skimage.data.chelsea()          # a cat, 300x451 RGB
COFFEE = skimage.data.coffee()


def jpeg_bytes(array, **kw):
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format="JPEG", **kw)
    return buf.getvalue()


@pytest.fixture
def messy_folder(tmp_path):
    """An Oxford-style folder with good images and every kind of bad one."""
    root = tmp_path / "messy"
    root.mkdir()
    (root / "Bengal_1.jpg").write_bytes(jpeg_bytes(CHELSEA))
    (root / "Bengal_2.jpg").write_bytes(jpeg_bytes(CHELSEA[::-1]))
    Image.fromarray(CHELSEA).convert("CMYK").save(root / "Bengal_3.jpg", format="JPEG")
    Image.fromarray(CHELSEA).save(root / "Bengal_4.jpg", format="PNG")       # PNG named .jpg
    Image.fromarray(CHELSEA).convert("P").save(root / "Bengal_5.jpg", format="GIF")
    gray16 = (np.asarray(Image.fromarray(COFFEE).convert("L"), np.uint16) * 257)
    Image.fromarray(gray16).save(root / "beagle_1.png")                      # 16-bit
    Image.fromarray(COFFEE).convert("L").save(root / "beagle_2.jpg")         # grayscale
    Image.fromarray(COFFEE).convert("RGBA").save(root / "beagle_3.png")      # alpha
    (root / "beagle_4.jpg").write_bytes(jpeg_bytes(COFFEE)[:2000])           # truncated
    (root / "beagle_5.jpg").write_bytes(b"")                                 # zero bytes
    (root / "beagle_6.jpg").write_text("I am a text file")                   # text as .jpg
    Image.new("1", (9000, 9000)).save(root / "beagle_7.png")                 # 81 megapixels
    (root / "notes.txt").write_text("not an image")
    return root


def tree_digest(root):
    h = hashlib.sha256()
    for p in sorted(root.rglob("*")):
        if p.is_file():
            h.update(p.name.encode() + p.read_bytes())
    return h.hexdigest()


def test_check_reports_bad_files_and_changes_nothing(messy_folder):
    before = tree_digest(messy_folder)
    report = folders.check_folder(messy_folder, labels="species", use_cache=False)
    assert tree_digest(messy_folder) == before            # nothing deleted or rewritten
    bad = {b["file"]: b["reason"] for b in report.bad}
    assert set(bad) == {"beagle_4.jpg", "beagle_5.jpg", "beagle_6.jpg", "beagle_7.png"}
    assert "truncated" in bad["beagle_4.jpg"] or "damaged" in bad["beagle_4.jpg"]
    assert "empty" in bad["beagle_5.jpg"]
    assert "not an image" in bad["beagle_6.jpg"]
    assert "pixels" in bad["beagle_7.png"]
    assert report.counts() == {"cat": 5, "dog": 3}
    assert [s["file"] for s in report.skipped] == ["notes.txt"]


def test_pipeline_decodes_by_content_and_skips_bad(messy_folder):
    report = folders.check_folder(messy_folder, labels="species")
    images = pipeline.load_images(report.paths(), image_size=64)
    assert images.shape == (8, 64, 64, 3)
    assert images.dtype == np.float32 and 0 <= images.min() and images.max() <= 255
    # every decoded image has real content, including CMYK, GIF, 16-bit and grayscale
    assert all(img.std() > 5 for img in images)


def test_cached_report_is_reused_and_detects_changes(messy_folder, monkeypatch):
    folders.check_folder(messy_folder, labels="species")
    checked = []
    real_check = folders.check_image_file
    monkeypatch.setattr(folders, "check_image_file",
                        lambda path, *a, **k: checked.append(path.name) or real_check(path, *a, **k))
    again = folders.check_folder(messy_folder, labels="species")
    assert checked == [] and "beagle_5.jpg" not in again.files    # every verdict from the cache
    (messy_folder / "beagle_5.jpg").write_bytes(jpeg_bytes(COFFEE))  # repaired by the user
    report = folders.check_folder(messy_folder, labels="species")
    assert checked == ["beagle_5.jpg"]                              # only the changed file
    assert "beagle_5.jpg" in report.files


def test_labels_from_names_and_subfolders(tmp_path):
    assert folders.oxford_label("Abyssinian_12.jpg") == "cat"
    assert folders.oxford_label("american_pit_bull_terrier_3.jpg") == "dog"
    assert folders.oxford_label("american_pit_bull_terrier_3.jpg", "breed") == "american_pit_bull_terrier"
    assert folders.oxford_label("IMG0001.jpg") is None
    for cls in ("Cat", "Dog"):
        (tmp_path / cls).mkdir()
        for i in range(3):
            (tmp_path / cls / f"{i}.jpg").write_bytes(jpeg_bytes(CHELSEA))
    report = folders.check_folder(tmp_path)
    assert report.layout == "subfolders" and report.counts() == {"Cat": 3, "Dog": 3}


def test_missing_empty_and_one_class_folders(tmp_path):
    with pytest.raises(sources.DatasetUnavailableError, match="no such folder"):
        folders.check_folder(tmp_path / "nowhere")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ValueError, match="no usable images"):
        folders.load_folder(empty)
    one = tmp_path / "one"
    one.mkdir()
    (one / "Bengal_1.jpg").write_bytes(jpeg_bytes(CHELSEA))
    with pytest.raises(ValueError, match="only one class"):
        folders.load_folder(one)


def test_find_dataset_offline_explains_staging(tmp_path, monkeypatch):
    monkeypatch.setenv("TL_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("TL_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(sources, "online", lambda: False)
    with pytest.raises(sources.DatasetUnavailableError, match="data fetch cats_vs_dogs"):
        sources.find_dataset("cats_vs_dogs", download_if_missing=True)
    assert not any((tmp_path / "cache").rglob("*.tmp*"))


def test_split_is_stratified_seeded_and_saved(pets_mini, tmp_path, monkeypatch):
    monkeypatch.setenv("TL_CACHE_DIR", str(tmp_path))
    report = folders.check_folder(pets_mini, labels="breed")
    a = folders.make_split(report, seed=1)
    b = folders.make_split(report, seed=1)
    assert a.test == b.test and a.train == b.train
    assert not set(a.train) & set(a.test) and not set(a.val) & set(a.test)
    assert len(a.train) + len(a.val) + len(a.test) == 365
    assert len({a.labels[f] for f in a.train}) == 37        # every breed is trained on
    assert list((tmp_path / "splits").glob("*.json"))


def test_a_cached_report_or_split_of_another_shape_is_made_again(pets_mini, tmp_path,
                                                                 monkeypatch, capsys):
    monkeypatch.setenv("TL_CACHE_DIR", str(tmp_path))
    report = folders.check_folder(pets_mini, labels="breed")
    split = folders.make_split(report, seed=1)
    for kind, junk in (("reports", '{"a.jpg": 1}'), ("splits", '{"train": "x"}')):
        [entry] = (tmp_path / kind).glob("*.json")
        entry.write_text(junk)
    again = folders.check_folder(pets_mini, labels="breed")
    assert again.files == report.files and again.bad == report.bad
    assert folders.make_split(again, seed=1).test == split.test
    out = capsys.readouterr().out
    assert out.count("is damaged") == 2, out


def test_a_saved_split_is_the_same_through_a_linked_folder(pets_mini, tmp_path, monkeypatch,
                                                          capsys):
    """An instructor's staged data reached through a link (CI's ../shared, a lab
    machine's mount) and directly: one saved split, no rebuild, no message."""
    monkeypatch.setenv("TL_CACHE_DIR", str(tmp_path / "cache"))
    (tmp_path / "staged").mkdir()
    link = tmp_path / "staged" / Path(pets_mini).name
    link.symlink_to(Path(pets_mini).resolve(), target_is_directory=True)
    through_link = folders.make_split(folders.check_folder(link, labels="breed"), seed=1)
    direct = folders.make_split(folders.check_folder(Path(pets_mini).resolve(), labels="breed"),
                                seed=1)
    assert "no longer matches" not in capsys.readouterr().out
    assert len(list((tmp_path / "cache" / "splits").glob("*.json"))) == 1
    assert [Path(f).name for f in through_link.test] == [Path(f).name for f in direct.test]
    assert all(f.startswith(str(Path(pets_mini).resolve())) for f in direct.test)


def test_checksum_mismatch_keeps_the_file(tmp_path):
    f = tmp_path / "archive.zip"
    f.write_bytes(b"some bytes")
    with pytest.raises(ValueError, match="checksum mismatch"):
        sources.verify_file(f, "0" * 64)
    assert f.exists()


def test_hostile_archives_are_refused(tmp_path):
    evil_tar = tmp_path / "evil.tar.gz"
    with tarfile.open(evil_tar, "w:gz") as tar:
        payload = b"gotcha"
        info = tarfile.TarInfo("../outside.txt")
        info.size = len(payload)
        tar.addfile(info, io.BytesIO(payload))
    dest = tmp_path / "dest"
    with pytest.raises(sources.UnsafeArchiveError, match=r"outside"):
        sources.safe_extract(evil_tar, dest)
    assert not (tmp_path / "outside.txt").exists()

    link_tar = tmp_path / "link.tar"
    with tarfile.open(link_tar, "w") as tar:
        info = tarfile.TarInfo("images/passwd")
        info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
        tar.addfile(info)
    with pytest.raises(sources.UnsafeArchiveError, match="link"):
        sources.safe_extract(link_tar, dest)

    evil_zip = tmp_path / "evil.zip"
    with zipfile.ZipFile(evil_zip, "w") as zf:
        zf.writestr("ok.txt", "fine")
        zf.writestr("/abs/evil.txt", "bad")
    with pytest.raises(sources.UnsafeArchiveError, match="absolute"):
        sources.safe_extract(evil_zip, dest)
    assert not (dest / "ok.txt").exists()                  # checked before writing anything

    good = tmp_path / "good.zip"
    with zipfile.ZipFile(good, "w") as zf:
        zf.writestr("PetImages/Cat/1.jpg", jpeg_bytes(CHELSEA))
    sources.safe_extract(good, dest)
    assert (dest / "PetImages" / "Cat" / "1.jpg").exists()


def test_feature_cache_reuses_and_rebuilds(tmp_path, monkeypatch):
    monkeypatch.setenv("TL_CACHE_DIR", str(tmp_path / "cache"))
    folder = tmp_path / "imgs"
    folder.mkdir()
    files = []
    for i, img in enumerate([CHELSEA, COFFEE]):
        f = folder / f"Bengal_{i}.jpg"
        f.write_bytes(jpeg_bytes(img))
        files.append(f)
    first = features.cached_features("efficientnet_lite0", files, image_size=96, progress=False)
    assert first.shape == (2, 1280)
    cached = list((tmp_path / "cache" / "features").glob("*.npz"))
    assert len(cached) == 1
    computed = []
    real_extract = features.extract_features
    monkeypatch.setattr(features, "extract_features",
                        lambda *a, **k: computed.append(1) or real_extract(*a, **k))
    again = features.cached_features("efficientnet_lite0", files, image_size=96, progress=False)
    np.testing.assert_array_equal(first, again)
    assert computed == []                                  # read from the cache, not recomputed
    files[1].write_bytes(jpeg_bytes(CHELSEA))              # an input changed
    changed = features.cached_features("efficientnet_lite0", files, image_size=96, progress=False)
    np.testing.assert_allclose(changed[0], changed[1], atol=1e-4)
    assert len(list((tmp_path / "cache" / "features").glob("*.npz"))) == 2


def test_data_check_command_on_pets_mini(pets_mini):
    out = subprocess.run([sys.executable, "-m", "helpers", "data", "check", str(pets_mini),
                          "--json"], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["usable"] == 365 and len(report["classes"]) == 37 and report["bad"] == []


def test_data_check_command_on_missing_folder(tmp_path):
    out = subprocess.run([sys.executable, "-m", "helpers", "data", "check",
                          str(tmp_path / "nope")], capture_output=True, text=True, timeout=300)
    assert out.returncode == 2 and "no such folder" in out.stderr


def _tar_of_images(path, names):
    with tarfile.open(path, "w:gz") as tar:
        for name in names:
            payload = jpeg_bytes(CHELSEA if name.split("/")[-1][0].isupper() else COFFEE)
            info = tarfile.TarInfo(name)
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))


def test_fetch_tries_mirrors_verifies_and_extracts(tmp_path, monkeypatch):
    names = [f"images/{b}_{i}.jpg" for b in ("Bengal", "beagle") for i in range(1, 5)]
    archive = tmp_path / "server" / "images.tar.gz"
    archive.parent.mkdir()
    _tar_of_images(archive, names)
    md5 = hashlib.md5(archive.read_bytes()).hexdigest()
    info = sources.DatasetInfo(
        "tiny_pets", "test", (sources.Remote("images.tar.gz",
                                          ("file:///nonexistent/images.tar.gz",  # dead mirror
                                           archive.as_uri()), md5),),
        ("images",), "oxford", "https://example.invalid")
    monkeypatch.setitem(sources.DATASETS, "tiny_pets", info)
    target = sources.fetch("tiny_pets", tmp_path / "staged")
    report = folders.check_folder(target / "images", labels="species")
    assert report.counts() == {"cat": 4, "dog": 4}
    assert (target / "downloads" / "images.tar.gz").read_bytes() == archive.read_bytes()
    assert not [p for p in target.rglob(".*") if p.name.startswith((".downloading", ".extracting"))]


def test_fetch_with_wrong_checksum_fails_clearly(tmp_path, monkeypatch):
    archive = tmp_path / "images.tar.gz"
    _tar_of_images(archive, ["images/Bengal_1.jpg"])
    info = sources.DatasetInfo("bad_sum", "test", (sources.Remote(
        "images.tar.gz", (archive.as_uri(),), "0" * 32),), ("images",), "oxford", "x")
    monkeypatch.setitem(sources.DATASETS, "bad_sum", info)
    with pytest.raises(sources.DatasetUnavailableError, match="checksum mismatch.*kept as"):
        sources.fetch("bad_sum", tmp_path / "staged")
    downloads = tmp_path / "staged" / "bad_sum" / "downloads"
    kept = downloads / "images.tar.gz.checksum-mismatch"   # the download itself, kept
    assert kept.read_bytes() == archive.read_bytes()
    assert not (downloads / "images.tar.gz").exists()     # never taken for a good download
    assert not (tmp_path / "staged" / "bad_sum" / "images").exists()


def test_oxford_official_split(tmp_path):
    images = tmp_path / "oxford_pets" / "images"
    ann = tmp_path / "oxford_pets" / "annotations"
    images.mkdir(parents=True)
    ann.mkdir()
    names = [f"{b}_{i}" for b in ("Bengal", "Birman", "beagle", "pug") for i in range(1, 9)]
    for n in names:
        (images / f"{n}.jpg").write_bytes(jpeg_bytes(CHELSEA if n[0].isupper() else COFFEE))
    (images / "pug_8.jpg").write_bytes(b"")            # a corrupt file listed in test.txt
    trainval = [n for n in names if int(n.rsplit("_", 1)[1]) <= 6]
    test = [n for n in names if int(n.rsplit("_", 1)[1]) > 6]
    (ann / "trainval.txt").write_text("".join(f"{n} 1 1 1\n" for n in trainval))
    (ann / "test.txt").write_text("".join(f"{n} 1 1 1\n" for n in test))
    split = folders.oxford_official_split(images, labels="breed")
    assert split.classes == ["Bengal", "Birman", "beagle", "pug"]
    assert len(split.test) == 7 and len(split.train) + len(split.val) == 24
    assert not any(f.endswith("pug_8.jpg") for f in split.test)
    assert not set(split.test) & (set(split.train) | set(split.val))


def test_archives_too_large_to_extract_are_refused_before_writing(tmp_path, monkeypatch):
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("a.txt", "fine")
        zf.writestr("zeros.bin", b"\0" * 5_000_000)       # 5 MB that packs into a few KB
    assert bomb.stat().st_size < 50_000
    monkeypatch.setenv("TL_MAX_EXTRACT_BYTES", "1000000")
    dest = tmp_path / "dest"
    with pytest.raises(sources.UnsafeArchiveError, match="5 MB, over the limit of 1 MB.*TL_MAX_EXTRACT_BYTES"):
        sources.safe_extract(bomb, dest)
    assert list(dest.iterdir()) == []                      # nothing written, no temporary left
    monkeypatch.setenv("TL_MAX_EXTRACT_BYTES", "10000000")
    sources.safe_extract(bomb, dest)
    assert sorted(p.name for p in dest.iterdir()) == ["a.txt", "zeros.bin"]


def test_extraction_keeps_what_is_already_there(tmp_path):
    archive = tmp_path / "new.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("images/a.txt", "from the archive")
        zf.writestr("images/b.txt", "new")
    dest = tmp_path / "dest"
    (dest / "images").mkdir(parents=True)
    (dest / "images" / "a.txt").write_text("the user's own")
    sources.safe_extract(archive, dest)
    assert (dest / "images" / "a.txt").read_text() == "the user's own"
    assert (dest / "images" / "b.txt").read_text() == "new"
    assert sorted(p.name for p in dest.iterdir()) == ["images"]
