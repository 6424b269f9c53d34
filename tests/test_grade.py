import json
import subprocess
import sys

import keras
import pytest

from helpers.lessons import train
from helpers.grader.grade import format_report, grade


def test_grades_a_real_model(breed_model):
    path, test_dir, split, _ = breed_model
    result = grade(path, test_dir)
    assert result["images"] == len(split.test)
    assert result["top1"] >= 0.8 and result["top3"] >= result["top1"]
    assert set(result["per_species"]) == {"cat", "dog"}
    assert result["passed"] and result["score"] == round(100 * result["top1"], 1)
    report = format_report(result)   # the figures the score comes from, each with its interval
    assert f"top-1 {result['score'] / 100:.3f} (95% CI" in report, report
    assert report.count("95% CI") == 6 and f"n={result['images']}" in report, report


@pytest.mark.slow  # 14-24 s: make test runs it, make check leaves it out
def test_grade_command_json(breed_model):
    path, test_dir, _, _ = breed_model
    out = subprocess.run([sys.executable, "-m", "helpers", "grade", str(path), "--test-dir",
                          str(test_dir), "--json"], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["passed"] is True


def test_bad_submissions_score_zero(breed_model, tmp_path):
    path, test_dir, split, model = breed_model
    missing = grade(tmp_path / "nope.keras", test_dir)
    assert missing["score"] == 0 and "no such file" in missing["error"]

    garbage = tmp_path / "garbage.keras"
    garbage.write_bytes(b"PK not really a zip")
    broken = grade(garbage, test_dir)
    assert broken["score"] == 0 and "not a zip archive" in broken["error"]

    nameless = tmp_path / "nameless.keras"
    model.save(nameless)
    result = grade(nameless, test_dir)
    assert result["score"] == 0 and "no class names" in result["error"]

    wrong = tmp_path / "wrong.keras"
    small = keras.Sequential([keras.Input((224, 224, 3)), keras.layers.GlobalAveragePooling2D(),
                              keras.layers.Dense(5, activation="softmax")])
    train.save_classifier(small, wrong, split.classes)
    result = grade(wrong, test_dir)
    assert result["score"] == 0 and "5 outputs but 37 class names" in result["error"]


def test_grade_command_reports_failure_without_crashing(tmp_path, pets_mini):
    out = subprocess.run([sys.executable, "-m", "helpers", "grade", str(tmp_path / "x.keras"),
                          "--test-dir", str(pets_mini)], capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 1 and "FAIL (score 0)" in out.stdout
    assert "Traceback" not in out.stderr


@pytest.mark.slow  # 14-24 s: make test runs it, make check leaves it out
def test_grades_a_list_of_photos_as_their_folder(breed_model, tmp_path):
    """The lab grades its own test split by listing its photos: no folder of links."""
    path, test_dir, split, _ = breed_model
    photos = sorted(str(p) for p in test_dir.iterdir())
    folder = grade(path, test_dir)
    listed = grade(path, photos + [str(tmp_path / "Bengal_999.jpg")])   # one that is gone
    assert listed["images"] == folder["images"] == len(split.test)
    assert (listed["top1"], listed["top3"]) == (folder["top1"], folder["top3"])
    assert "listed photos" in listed["test_dir"]
    empty = grade(path, [])
    assert empty["score"] == 0 and "no test photos listed" in empty["error"]
