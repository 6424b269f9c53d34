"""The lab's grader for one submission: ``python -m helpers grade MODEL.keras --test-dir DIR``.

Evaluates a student's saved classifier on a test folder the student never saw
(Oxford-IIIT file names, ``Breed_N.jpg``, or a subfolder per class): top-1 and
top-3 accuracy overall and, for Oxford names, per species, and pass or fail
against the assignment's thresholds (``lab/README.md``). The submission goes
through the same checks and the same isolated worker as a whole class
(:mod:`helpers.grader.gradebook`): nothing in it runs inside the grader, and a
submission that cannot be graded gets a clear message and a score of 0.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from helpers.grader.gradebook import grade_one, load_test_set
from helpers.grader.gradesheet import MIN_TOP1, MIN_TOP3, pass_line, passes
from helpers.lessons.metrics import ci_text, top_k

__all__ = ["MIN_TOP1", "MIN_TOP3", "format_report", "grade"]


def _failed(model_path, test_dir, message) -> dict:
    return {"model": str(model_path), "test_dir": str(test_dir), "passed": False,
            "score": 0.0, "error": message}


def grade(model_path, test_dir, min_top1=MIN_TOP1, min_top3=MIN_TOP3, timeout=300.0,
          memory_mb=4000) -> dict:
    """Grade a ``.keras`` classifier on ``test_dir`` (a folder of Oxford-named photos,
    or a list of their paths); returns a JSON-ready dict. The lab."""
    from helpers.data.folders import oxford_label

    model_path = Path(model_path)
    listed = isinstance(test_dir, (list, tuple))
    try:
        test = load_test_set(list(test_dir) if listed else Path(test_dir))
    except (FileNotFoundError, NotADirectoryError, ValueError) as e:
        return _failed(model_path, f"{len(test_dir)} listed photos" if listed else test_dir,
                       f"test photos: {e}")
    if listed:   # named by what it is: the report shows no list of paths
        test_dir = f"{len(test_dir)} listed photos in {test.root}"
    with tempfile.TemporaryDirectory(prefix="tl-grade-") as tmp:
        row = grade_one(model_path.stem, model_path, test, Path(tmp), timeout, memory_mb,
                        keep_outputs=True, min_top1=min_top1, min_top3=min_top3)
    if row["status"] != "ok":
        return _failed(model_path, test_dir, f"{row['status']}: {row['reason']}")
    probs, truth, class_names = row["outputs"], row["truth"], row["class_names"]
    species = np.array([oxford_label(Path(f).name, "species") for f in test.files])

    def scores(mask):   # unrounded, so that the report and the score agree
        top1, top3 = top_k(truth[mask], probs[mask], 1), top_k(truth[mask], probs[mask], 3)
        return {"top1": top1.value, "top3": top3.value, "top1_ci95": [top1.low, top1.high],
                "top3_ci95": [top3.low, top3.high]}

    per_species = {name: {"images": int((species == name).sum()), **scores(species == name)}
                   for name in ("cat", "dog") if (species == name).any()}
    result = {
        "model": str(model_path), "test_dir": str(test_dir), "images": row["images"],
        "unknown_breeds": sorted(set(test.labels) - set(class_names)),
        **scores(slice(None)), "per_species": per_species,
        "thresholds": {"top1": min_top1, "top3": min_top3}, "skipped_files": test.skipped,
        "test_digest": test.digest, "seconds": row["seconds"],
    }
    result["passed"] = passes(result["top1"], result["top3"], min_top1, min_top3)
    result["score"] = round(100 * result["top1"], 1)
    return result


def format_report(result: dict) -> str:
    if "error" in result:
        return f"FAIL (score 0): {result['error']}"

    def line(label, r, n):
        return (f"  {label:4} top-1 {ci_text(r['top1'], *r['top1_ci95'])}   "
                f"top-3 {ci_text(r['top3'], *r['top3_ci95'])}, n={n}")

    lines = [f"{result['model']} on {result['test_dir']} ({result['images']} images)",
             line("all", result, result["images"])]
    for name, r in result["per_species"].items():
        lines.append(line(name, r, r["images"]))
    if result["unknown_breeds"]:
        lines.append(f"  classes the model does not know: {', '.join(result['unknown_breeds'])}")
    t = result["thresholds"]
    verdict = "PASS" if result["passed"] else "FAIL"
    lines.append(f"{verdict} (needs {pass_line(t['top1'], t['top3'])}); score {result['score']}")
    return "\n".join(lines)
