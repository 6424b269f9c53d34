"""The lab's grader: ``python -m helpers grade MODEL.keras --test-dir DIR``.

Evaluates a student's saved classifier on a test folder the student never saw
(Oxford-IIIT file names, ``Breed_N.jpg``): top-1 and top-3 accuracy overall
and per species, and pass or fail against the assignment's thresholds
(``lab/README.md``). A submission that cannot be graded (missing file, not
loadable, no class names, wrong number of outputs) gets a clear message and a
score of 0; the grader itself never crashes on it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

MIN_TOP1 = 0.80
MIN_TOP3 = 0.90


def _failed(model_path, test_dir, message) -> dict:
    return {"model": str(model_path), "test_dir": str(test_dir), "passed": False,
            "score": 0.0, "error": message}


def grade(model_path, test_dir, min_top1=MIN_TOP1, min_top3=MIN_TOP3,
          batch_size=32) -> dict:
    """Grade a ``.keras`` classifier on ``test_dir``; returns a JSON-ready dict."""
    from helpers.folders import check_folder, oxford_label
    from helpers.metrics import top_k
    from helpers.train import evaluate_probs, load_classifier

    model_path, test_dir = Path(model_path), Path(test_dir)
    if not model_path.is_file():
        return _failed(model_path, test_dir, f"{model_path}: no such file; submit the "
                       ".keras file that your notebook saved")
    try:
        report = check_folder(test_dir, labels="breed", layout="oxford")
    except (FileNotFoundError, NotADirectoryError) as e:
        return _failed(model_path, test_dir, f"test folder: {e}")
    if not report.files:
        return _failed(model_path, test_dir, f"{test_dir}: no usable test images")
    try:
        model, class_names = load_classifier(model_path)
    except Exception as e:  # any way a submission can fail to load
        return _failed(model_path, test_dir, f"{model_path}: the model does not load "
                       f"({e.__class__.__name__}: {str(e)[:300]}); save it with "
                       "helpers.train.save_classifier")
    if not class_names:
        return _failed(model_path, test_dir, f"{model_path}: no class names inside; save "
                       "it with helpers.train.save_classifier(model, path, class_names)")
    outputs = model.output_shape[-1] if hasattr(model, "output_shape") else None
    if outputs != len(class_names):
        return _failed(model_path, test_dir, f"{model_path}: the model has {outputs} "
                       f"outputs but {len(class_names)} class names")
    size = model.input_shape[1] or 224
    try:
        probs = evaluate_probs(model, report.paths(), image_size=size, batch_size=batch_size)
    except Exception as e:
        return _failed(model_path, test_dir, f"{model_path}: the model fails on "
                       f"{size}x{size} RGB images in 0..255 ({e.__class__.__name__}: "
                       f"{str(e)[:300]})")
    index = {name: i for i, name in enumerate(class_names)}
    truth = np.array([index.get(label, -1) for label in report.labels])
    species = np.array([oxford_label(f, "species") for f in report.files])
    overall = {k: top_k(truth, probs, k) for k in (1, 3)}
    per_species = {}
    for name in ("cat", "dog"):
        mask = species == name
        if mask.any():
            per_species[name] = {"images": int(mask.sum()),
                                 "top1": top_k(truth[mask], probs[mask], 1).value,
                                 "top3": top_k(truth[mask], probs[mask], 3).value}
    result = {
        "model": str(model_path), "test_dir": str(test_dir), "images": int(len(truth)),
        "unknown_breeds": sorted(set(report.labels) - set(class_names)),
        "top1": overall[1].value, "top3": overall[3].value,
        "top1_ci95": [overall[1].low, overall[1].high],
        "top3_ci95": [overall[3].low, overall[3].high], "per_species": per_species,
        "thresholds": {"top1": min_top1, "top3": min_top3}, "skipped_files": report.bad,
    }
    result["passed"] = result["top1"] >= min_top1 and result["top3"] >= min_top3
    result["score"] = round(100 * result["top1"], 1)
    return result


def format_report(result: dict) -> str:
    if "error" in result:
        return f"FAIL (score 0): {result['error']}"
    lines = [f"{result['model']} on {result['test_dir']} ({result['images']} images)",
             f"  top-1 {result['top1']:.3f} (95% CI {result['top1_ci95'][0]:.3f}-"
             f"{result['top1_ci95'][1]:.3f})   top-3 {result['top3']:.3f} (95% CI "
             f"{result['top3_ci95'][0]:.3f}-{result['top3_ci95'][1]:.3f})"]
    for name, r in result["per_species"].items():
        lines.append(f"  {name:4} top-1 {r['top1']:.3f}   top-3 {r['top3']:.3f}   "
                     f"({r['images']} images)")
    if result["unknown_breeds"]:
        lines.append(f"  breeds the model does not know: {', '.join(result['unknown_breeds'])}")
    t = result["thresholds"]
    verdict = "PASS" if result["passed"] else "FAIL"
    lines.append(f"{verdict} (needs top-1 >= {t['top1']:.2f} and top-3 >= {t['top3']:.2f}); "
                 f"score {result['score']}")
    return "\n".join(lines)
