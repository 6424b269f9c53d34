"""Notebook 05's data: IDX and JSON readers, SHA256SUMS checks, splits, Grad-CAM."""

import gzip
import json
import shutil
import struct
from pathlib import Path

import numpy as np
import pytest
import skimage.data

from helpers.data import arrays
from helpers.lessons import gradcam, three_ways


def _idx(path, array):
    header = struct.pack(">BBBB", 0, 0, 8, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())


def test_idx_reader_round_trips_and_names_a_bad_file(tmp_path):
    images = np.random.default_rng(0).integers(0, 256, (5, 28, 28), dtype=np.uint8)
    _idx(tmp_path / "img.gz", images)
    np.testing.assert_array_equal(arrays.read_idx(tmp_path / "img.gz"), images)
    data = gzip.decompress((tmp_path / "img.gz").read_bytes())
    with gzip.open(tmp_path / "short.gz", "wb") as f:
        f.write(data[:-10])                                   # truncated
    with pytest.raises(ValueError, match="short.gz.*truncated"):
        arrays.read_idx(tmp_path / "short.gz")
    (tmp_path / "text.gz").write_bytes(gzip.compress(b"not an idx file at all"))
    with pytest.raises(ValueError, match="text.gz.*magic"):
        arrays.read_idx(tmp_path / "text.gz")


def test_json_digits_reader(tmp_path):
    pixels = np.random.default_rng(1).integers(0, 256, (3, 784))
    with gzip.open(tmp_path / "7.json.gz", "wt") as f:
        json.dump({"data": [round(v / 255, 3) for v in pixels.ravel()]}, f)
    np.testing.assert_array_equal(arrays.read_digits_json(tmp_path / "7.json.gz"),
                                  pixels.reshape(3, 28, 28))
    (tmp_path / "bad.json.gz").write_bytes(gzip.compress(b'{"data": [0.5, 0.5]}'))
    with pytest.raises(ValueError, match="784 values"):
        arrays.read_digits_json(tmp_path / "bad.json.gz")


def test_real_domains_read_with_their_official_counts(data_root):
    mnist = arrays.load("mnist", "test")
    assert mnist.x.shape == (10000, 28, 28, 1) and np.bincount(mnist.y)[1] == 1135
    assert len(arrays.load("mnist", "train")) == 10000
    cifar = arrays.load("cifar10", "test")
    assert cifar.x.shape == (5000, 32, 32, 3) and cifar.class_names[0] == "airplane"
    fashion = arrays.load("fashion_mnist", "test")
    assert fashion.x.shape == (10000, 28, 28, 1) and fashion.class_names[9] == "Ankle boot"


def test_fashion_training_images_come_from_the_staged_data_first(data_root, monkeypatch):
    """`make course` on a fresh clone: the 60,000 training images from TL_DATA_DIR, not
    from Debian's package (which the machine may lack) or a download."""
    monkeypatch.setattr(arrays, "DEBIAN_FASHION", data_root / "no-such-folder")
    monkeypatch.setattr(arrays.sources, "online", lambda: False)
    fashion = arrays.load("fashion_mnist", "train")
    assert fashion.x.shape == (60000, 28, 28, 1) and np.bincount(fashion.y).tolist() == [6000] * 10
    assert fashion.source == str(data_root / "fashion_mnist" / "idx")


def test_sums_name_changed_missing_and_extra_files(data_root, tmp_path):
    root = tmp_path / "mnist"
    shutil.copytree(data_root / "mnist", root)
    for p in root.rglob("*"):
        p.chmod(0o755 if p.is_dir() else 0o644)
    assert arrays.verify_sums(root) == {}
    (root / "cazala_json" / "3.json.gz").write_bytes(b"changed")
    (root / "idx" / "t10k-labels-idx1-ubyte.gz").unlink()
    (root / "idx" / "extra.bin").write_bytes(b"x")
    before = {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}
    assert arrays.verify_sums(root) == {"changed": ["cazala_json/3.json.gz"],
                                        "missing": ["idx/t10k-labels-idx1-ubyte.gz"],
                                        "extra": ["idx/extra.bin"]}
    assert {p: p.read_bytes() for p in root.rglob("*") if p.is_file()} == before


def test_a_changed_file_is_reported_and_left_out(data_root, tmp_path, monkeypatch, capsys):
    shutil.copytree(data_root / "mnist", tmp_path / "mnist")
    for p in (tmp_path / "mnist").rglob("*"):
        p.chmod(0o755 if p.is_dir() else 0o644)
    (tmp_path / "mnist" / "cazala_json" / "3.json.gz").write_bytes(b"changed")
    monkeypatch.setenv("TL_DATA_DIR", str(tmp_path))
    train = arrays.load("mnist", "train")
    assert 3 not in set(train.y) and len(train) == 10000 - 1032
    assert "3.json.gz" in capsys.readouterr().out


def test_carved_splits_are_stratified_seeded_and_disjoint():
    y = np.repeat(np.arange(4), [100, 50, 30, 20])
    data = arrays.ArrayData(np.zeros((200, 2, 2, 1), np.uint8), y, list("abcd"), "test")
    rest, val = arrays.carve(data, 40, seed=0)
    again, val_again = arrays.carve(data, 40, seed=0)
    _, other = arrays.carve(data, 40, seed=1)
    assert list(val) == list(val_again) and list(val) != list(other)
    assert not set(rest) & set(val) and len(rest) + len(val) == 200
    assert list(np.bincount(y[val])) == [20, 10, 6, 4]


def test_grouped_carving_keeps_each_patient_on_one_side():
    rng = np.random.default_rng(0)
    groups = np.repeat(np.arange(120), rng.integers(1, 5, 120))   # 1-4 images per patient
    y = (groups % 4 == 0).astype(int)                              # a quarter are sick
    data = arrays.ArrayData(np.zeros((len(y), 2, 2, 1), np.uint8), y, ["a", "b"], "test", groups)
    rest, val = arrays.carve(data, len(y) // 5, seed=0)
    assert not set(groups[rest]) & set(groups[val]) and len(rest) + len(val) == len(y)
    assert abs(len(val) - len(y) / 5) < len(y) / 10 and 0.1 < y[val].mean() < 0.4
    assert list(arrays.carve(data, len(y) // 5, seed=0)[1]) == list(val)
    assert list(arrays.carve(data, len(y) // 5, seed=1)[1]) != list(val)
    assert data.subset(val).groups.tolist() == groups[val].tolist()


def test_xray_patients_come_from_the_file_names(data_root):
    assert arrays.patient_id("person1000_bacteria_2931.jpeg") == "person1000"
    assert arrays.patient_id("person1000_virus_1681.jpeg") == "person1000"
    assert arrays.patient_id("NORMAL2-IM-0012-0001.jpeg") == "NORMAL2-IM-0012"
    assert arrays.patient_id("IM-0115-0001.jpeg") == "IM-0115"
    names = [f.name for f in (data_root / "chest_xray" / "train").rglob("*.jpeg")]
    ids = {arrays.patient_id(n) for n in names}
    assert len(names) == 5216 and len(ids) == 2846
    assert not {Path(n).stem for n in names} & ids   # every name parsed: none is its own group


def test_balanced_weights_let_the_rare_class_be_found():
    y = np.repeat([0, 1], [900, 100])
    weights = three_ways.balanced_weights(y)
    assert weights[0] * 900 == pytest.approx(weights[1] * 100) and weights[1] == pytest.approx(5.0)
    rng = np.random.default_rng(0)
    def draw(labels):
        return (rng.normal(size=(len(labels), 2)) + labels[:, None]).astype("float32")
    x, x_val = draw(y), draw(y)
    y_test = np.repeat([0, 1], [500, 500])
    x_test = draw(y_test)
    head, _, _ = three_ways.frozen_head(x, y)
    rare_recall = (head.predict(x_test, verbose=0).argmax(1)[y_test == 1] == 1).mean()
    # control: the same data without weights finds few of the rare class
    from sklearn.linear_model import LogisticRegression
    plain = LogisticRegression().fit(x, y).predict(x_test)[y_test == 1].mean()
    assert plain < 0.4 < 0.6 < rare_recall, (plain, rare_recall)


def test_frozen_head_chooses_c_by_cross_validation_on_training_data():
    # 20 informative features among 300, 120 training examples: the strongly
    # regularised head generalises better, and cross-validation on the training
    # examples alone finds it (no validation images are passed)
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import balanced_accuracy_score

    rng = np.random.default_rng(0)
    def draw(n):
        y = rng.integers(0, 2, n)
        x = rng.normal(size=(n, 300))
        x[:, :20] += 0.4 * (2 * y[:, None] - 1)
        return x.astype("float32"), y
    (x, y), (x_val, y_val) = draw(120), draw(400)
    cold = {c: LogisticRegression(C=c, max_iter=5000, class_weight="balanced").fit(x, y)
            for c in (0.001, 100.0)}
    score = {c: balanced_accuracy_score(y_val, m.predict(x_val)) for c, m in cold.items()}
    assert score[0.001] > score[100.0] + 0.01, score
    head, c, _ = three_ways.frozen_head(x, y, c_values=(100.0, 0.001))
    assert c == 0.001
    # the head is refitted on all the training examples with the chosen C
    np.testing.assert_allclose(head.predict(x_val, verbose=0),
                               cold[0.001].predict_proba(x_val), atol=2e-3)


def test_frozen_head_keeps_a_patients_images_in_one_part(monkeypatch):
    import sklearn.linear_model

    folds = []

    class Recording(sklearn.linear_model.LogisticRegressionCV):
        def fit(self, x, y, **kw):
            self.cv = list(self.cv)
            folds.extend(self.cv)
            return super().fit(x, y, **kw)

    monkeypatch.setattr(sklearn.linear_model, "LogisticRegressionCV", Recording)
    rng = np.random.default_rng(0)
    y = np.repeat(rng.integers(0, 2, 40), 3)            # 40 patients, 3 images each
    x = (rng.normal(size=(120, 5)) + y[:, None]).astype("float32")
    groups = np.repeat(np.arange(40), 3)
    three_ways.frozen_head(x, y, groups)
    assert len(folds) == 3 and sorted(np.concatenate([t for _, t in folds])) == list(range(120))
    for fit_on, scored_on in folds:
        assert not set(groups[fit_on]) & set(groups[scored_on])


def test_gradcam_peaks_on_the_object():
    bottom, top = three_ways.split_backbone("efficientnet_lite0", 224, cut="block14_add")
    from helpers.models.backbones import get_backbone

    classifier = get_backbone("efficientnet_lite0", include_top=True)
    dense = classifier.get_layer("predictions")
    canvas = np.full((224, 224, 3), 127.0, np.float32)
    cat = three_ways.as_images(skimage.data.chelsea()[None], 96)[0]
    for corner in ((0, 0), (128, 128)):
        image = canvas.copy()
        image[corner[0]:corner[0] + 96, corner[1]:corner[1] + 96] = cat
        cam = gradcam.heatmap(bottom, lambda m: dense(top(m)), image)
        y, x = np.unravel_index(cam.argmax(), cam.shape)
        assert corner[0] <= y < corner[0] + 96 and corner[1] <= x < corner[1] + 96, (corner, y, x)
        mask = np.zeros(cam.shape, bool)
        mask[corner[0]:corner[0] + 96, corner[1]:corner[1] + 96] = True
        assert cam[mask].mean() > 2 * cam[~mask].mean(), "the map is not on the cat"
