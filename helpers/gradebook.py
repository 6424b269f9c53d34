"""Grading a whole class: ``python -m helpers grade SUBMISSIONS/ --test-dir DIR --out gradebook.csv``.

Introduced with the lab (``lab/README.md``, "Grading a class"). Each student
hands in one ``.keras`` file: ``SUBMISSIONS/<student>.keras``, or
``SUBMISSIONS/<student>/<anything>.keras``. For every submission:

1. :func:`helpers.submission.inspect` reads the archive without building it
   and refuses what it must (code, foreign modules, bombs, links);
2. a process of its own, forked by a worker server (:mod:`helpers.gradeworker`),
   loads it with Keras' ``safe_mode`` and runs it on the test photos, under a
   wall-time limit and a memory limit (the resident memory it allocates, watched
   from outside every 50 ms, and an address-space cap inside);
3. the grader scores the outputs: top-1 and top-3 with 95% intervals.

The test photos are decoded once per input size and shared by every worker, and
each model sees them in an order and batches drawn from the gradebook's seed
(:mod:`helpers.testphotos`). Every submission gets a row, whatever happens
(``ok``, ``refused``, ``failed``, ``timeout``, ``out of memory``), and a feedback
file of its own; an error nobody foresaw in a check, a decode or a run becomes
``failed`` with its reason, never the end of the class. The CSV records the test
folder's digest and the order seed, so a grade can be reproduced. Everything
shown or written is stripped of control characters, and a CSV cell that a
spreadsheet would run as a formula is quoted (OWASP's CSV-injection advice).
"""

from __future__ import annotations

import collections
import concurrent.futures
import csv
import hashlib
import os
import re
import tempfile
import time
import unicodedata
from pathlib import Path

import numpy as np

from helpers import settings
from helpers.gradeworker import Pool
from helpers.submission import RefusedSubmission, inspect
from helpers.testphotos import (DecodedPhotos, TestSet, decoded_photos, load_test_set,  # noqa: F401
                                new_seed, order_and_batches, unshuffle)

MIN_TOP1 = 0.80      # the lab's pass line (lab/README.md)
MIN_TOP3 = 0.90
COLUMNS = ["student", "score", "passed", "status", "reason", "top1", "top1_low", "top1_high",
           "top3", "top3_low", "top3_high", "images", "seconds", "submission",
           "submission_sha256", "test_digest", "order_seed"]


# ------------------------------------------------------------- one submission

def find_submissions(folder) -> list[tuple[str, Path | None, str]]:
    """``(student, file, problem)`` for every ``.keras`` file or student folder."""
    folder = Path(folder)
    found = []
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith("."):
            continue
        if entry.is_dir() and not entry.is_symlink():
            models = sorted(entry.glob("*.keras"))
            if len(models) == 1:
                found.append((entry.name, models[0], ""))
            else:
                found.append((entry.name, None, f"the folder holds {len(models)} .keras files; "
                              "hand in exactly one"))
        elif entry.suffix == ".keras":
            found.append((entry.stem, entry, ""))
    # one row per student: a name handed in twice (alice.keras and alice/) is refused
    counts = collections.Counter(student for student, _, _ in found)
    twice = {student for student, n in counts.items() if n > 1}
    found = [entry for entry in found if entry[0] not in twice]
    found += [(student, None, f"two submissions under this name ({student}.keras and the "
                              f"folder {student}/); hand in one") for student in sorted(twice)]
    return sorted(found, key=lambda entry: entry[0])


def score(outputs, class_names, test: TestSet) -> dict:
    """Top-1 and top-3 of ``outputs`` (one row of class probabilities per photo),
    or ``{"error": ...}`` when they are not that."""
    from helpers.metrics import top_k

    probs = np.asarray(outputs)
    n = len(test.files)
    if probs.ndim != 2 or probs.shape[0] != n:
        return {"error": f"the model's output has shape {tuple(probs.shape)}, expected "
                         f"({n}, {len(class_names)}): one row of class probabilities per photo"}
    if probs.shape[1] != len(class_names):
        return {"error": f"the model has {probs.shape[1]} outputs but {len(class_names)} "
                         "class names"}
    if not np.isfinite(probs).all():
        return {"error": "the model's outputs contain NaN or infinity; check the training"}
    index = {name: i for i, name in enumerate(class_names)}
    truth = np.array([index.get(label, -1) for label in test.labels])
    result = {"images": n, "unknown_classes": sorted(set(test.labels) - set(class_names))}
    for k in (1, 3):
        acc = top_k(truth, probs, min(k, probs.shape[1]))
        result[f"top{k}"], result[f"top{k}_ci95"] = acc.value, [acc.low, acc.high]
    result["truth"] = truth
    return result


def clean(text) -> str:
    """``text`` without control characters (terminal escape codes, tabs, newlines),
    each replaced by ``?``: what is shown on a console or written to a file."""
    return "".join("?" if unicodedata.category(c)[0] == "C" else c for c in str(text))


def safe_name(student: str) -> str:
    """A student's name as a file name: letters, digits, ``.``, ``-`` and ``_`` only,
    and a short hash of the name when anything had to change, so that two names
    (``zed~victim``, ``zed_victim``) never share a file."""
    name = re.sub(r"[^\w.-]", "_", student, flags=re.ASCII).lstrip(".")[:80] or "student"
    if name != student:
        name += "-" + hashlib.sha256(student.encode("utf-8", "replace")).hexdigest()[:8]
    return name


def spreadsheet_safe(value):
    """A CSV cell that no spreadsheet runs as a formula: a text starting with ``=``,
    ``+``, ``-``, ``@``, a tab or a carriage return gets a leading ``'`` (OWASP)."""
    if isinstance(value, str):
        risky = value[:1] in ("=", "+", "-", "@", "\t", "\r")
        value = ("'" if risky else "") + clean(value)
    return value


def grade_one(student, model, test: TestSet, workdir: Path, timeout=120.0,
              memory_mb=3000, keep_outputs=False, pool=None, seed=None, photos=None,
              info=None) -> dict:
    """One row of the gradebook (see :data:`COLUMNS`), whatever the submission does.
    ``keep_outputs`` adds the model's outputs and the true labels (single grading).
    ``seed`` draws the order of the photos (default: a fresh one); ``photos``, a
    :class:`helpers.testphotos.DecodedPhotos` shared by a class; ``info``, the
    submission's :class:`helpers.submission.Inspection` when the caller has it."""
    start = time.perf_counter()
    seed = new_seed() if seed is None else int(seed)
    row = {"student": clean(student), "student_key": student, "score": 0.0, "passed": False,
           "submission": clean(model or ""), "submission_sha256": "",
           "test_digest": test.digest, "images": len(test.files), "order_seed": seed}

    def done(status, reason="", **extra):
        row.update(status=status, reason=clean(reason),
                   seconds=round(time.perf_counter() - start, 1), **extra)
        return row

    if model is None:
        return done("refused", "no .keras file")
    try:
        info = info or inspect(model)
    except RefusedSubmission as e:
        return done("refused", str(e))
    size = info.input_size or 224
    try:
        row["submission_sha256"] = settings.file_hash(model)
        return _run_and_score(row, done, Path(model), info, size, test, workdir, timeout,
                              memory_mb, keep_outputs, pool, seed, photos)
    except Exception as e:  # nothing a submission does may stop the class
        return done("failed", f"the grader could not grade it ({e.__class__.__name__}: "
                              f"{str(e)[:200]}); tell your instructor")
    finally:
        if photos is not None:
            photos.release(size)


def _run_and_score(row, done, model, info, size, test, workdir, timeout, memory_mb,
                   keep_outputs, pool, seed, photos):
    path = photos.get(size) if photos is not None else decoded_photos(test, size, workdir)
    order, batches = order_and_batches(len(test.files), seed, row["student_key"])
    handle, out = tempfile.mkstemp(dir=workdir, prefix=f"out-{safe_name(row['student_key'])}-",
                                   suffix=".npy")
    os.close(handle)
    out = Path(out)
    own_pool = pool is None
    pool = pool or Pool()
    try:
        status, reason = pool.run(model, path, out, timeout, memory_mb, order, batches)
    finally:
        if own_pool:
            pool.close()
    if status != "ok":
        out.unlink(missing_ok=True)
        return done(status, reason)
    outputs = np.load(out)
    out.unlink(missing_ok=True)
    if outputs.ndim >= 1 and len(outputs) == len(order):
        outputs = unshuffle(outputs, order)
    result = score(outputs, info.class_names, test)
    if "error" in result:
        return done("failed", result["error"])
    if keep_outputs:
        row.update(outputs=outputs, truth=result["truth"], class_names=info.class_names)
    passed = result["top1"] >= MIN_TOP1 and result["top3"] >= MIN_TOP3
    unknown = result["unknown_classes"]
    return done("ok", (f"the model does not know {len(unknown)} classes of the test photos: "
                       f"{', '.join(unknown[:5])}" if unknown else ""),
                score=round(100 * result["top1"], 1), passed=passed,
                top1=round(result["top1"], 4), top1_low=round(result["top1_ci95"][0], 4),
                top1_high=round(result["top1_ci95"][1], 4), top3=round(result["top3"], 4),
                top3_low=round(result["top3_ci95"][0], 4),
                top3_high=round(result["top3_ci95"][1], 4))


# ------------------------------------------------------------------ a class

def feedback_text(row: dict) -> str:
    """What a student reads: what was measured, and what to fix."""
    lines = [f"Lab grade for {row['student']}", ""]
    if row["status"] == "ok":
        lines += [f"Measured on {row['images']} test photos you never saw:",
                  f"  top-1 accuracy {row['top1']:.3f} (95% interval {row['top1_low']:.3f}-"
                  f"{row['top1_high']:.3f})",
                  f"  top-3 accuracy {row['top3']:.3f} (95% interval {row['top3_low']:.3f}-"
                  f"{row['top3_high']:.3f})",
                  f"Score {row['score']} ({'pass' if row['passed'] else 'not yet a pass'}: "
                  f"the lab needs top-1 >= {MIN_TOP1} and top-3 >= {MIN_TOP3}).",
                  "The interval is how far the accuracy could move on another set of photos "
                  "this size."]
        if row["reason"]:
            lines.append(f"Note: {row['reason']}.")
        if not row["passed"]:
            lines.append("To improve: compare backbones and regularisation by cross-validation "
                         "(lab/README.md), then refit on all your photos.")
    else:
        lines += [f"Your submission could not be graded ({row['status']}), score 0:",
                  f"  {row['reason']}", "",
                  "Fix it, check it with `python -m helpers grade YOUR.keras --test-dir "
                  "SOME_PHOTOS`, and hand it in again."]
    lines += ["", f"Submission sha256 {row['submission_sha256'] or '-'}; "
              f"test set {row['test_digest'][:16]}."]
    return "\n".join(lines) + "\n"


def _inspection(model):
    try:
        return inspect(model)
    except Exception:          # refused (or worse): grade_one says why; no photos needed
        return None


def grade_class(submissions, test_dir, out_csv, feedback_dir=None, workers=2, timeout=120.0,
                memory_mb=3000, progress=True, seed=None, shard=None) -> list[dict]:
    """Grade every submission in ``submissions``; write the CSV gradebook and one
    feedback file per student; return the rows (sorted by student). ``seed`` draws
    the order of the photos for every model (default: a fresh one, recorded in
    the gradebook's ``order_seed`` column). ``shard = (K, N)`` grades only the
    students of shard K of N (:mod:`helpers.shards`, which needs a ``seed``) and
    writes the part's ``.part.json`` beside ``out_csv``, for ``gradebook merge``."""
    from helpers import shards

    if shard is not None and seed is None:
        raise ValueError("--shard needs --seed: every shard must draw the photos' order "
                         "from one seed (any integer; keep it for the merge)")
    out_csv = Path(out_csv)
    for folder in (out_csv.parent, Path(feedback_dir) if feedback_dir else
                   out_csv.parent / "feedback"):
        _check_writable(folder)        # before the grading, not after it
    test = load_test_set(test_dir)
    seed = new_seed() if seed is None else int(seed)
    entries = find_submissions(submissions)
    roster = [student for student, _, _ in entries]
    if shard is not None:
        entries = [e for e in entries if shards.shard_of(e[0], shard[1]) == shard[0]]
    with tempfile.TemporaryDirectory(prefix="tl-grade-") as tmp:
        workdir = Path(tmp)
        infos = {e[1]: _inspection(e[1]) for e in entries if e[1] is not None}
        photos = DecodedPhotos(test, workdir, [i.input_size or 224 for i in infos.values() if i])
        rows, servers = [], Pool()
        with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            futures = []
            for student, model, problem in entries:
                if problem:
                    rows.append(grade_one(student, None, test, workdir, seed=seed))
                    rows[-1]["reason"] = clean(problem)
                else:
                    futures.append(pool.submit(grade_one, student, model, test, workdir,
                                               timeout, memory_mb, pool=servers, seed=seed,
                                               photos=photos if infos[model] else None,
                                               info=infos[model]))
            iterator = concurrent.futures.as_completed(futures)
            if progress:
                from tqdm.auto import tqdm

                iterator = tqdm(iterator, total=len(futures), desc="grading", unit="submission")
            try:
                rows += [f.result() for f in iterator]
            finally:
                servers.close()
    rows.sort(key=lambda r: r["student_key"])
    if shard is not None:
        shards.write_part(rows, roster, shard, seed, test.digest, out_csv, COLUMNS)
    return write_gradebook(rows, out_csv, feedback_dir)


def _check_writable(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as e:
        raise PermissionError(f"cannot write to {folder} ({e.__class__.__name__}: "
                              f"{e.strerror or e}): create it, writable by this user, "
                              "before grading") from None


def write_gradebook(rows, out_csv, feedback_dir=None) -> list[dict]:
    """Write ``rows`` as the CSV gradebook ``out_csv`` and one feedback file per
    student in ``feedback_dir`` (default: ``feedback/`` beside the CSV)."""
    out_csv = Path(out_csv)
    feedback_dir = Path(feedback_dir) if feedback_dir else out_csv.parent / "feedback"
    settings.atomic_write(out_csv, lambda tmp: _write_csv(rows, tmp))
    feedback_dir.mkdir(parents=True, exist_ok=True)
    for row in rows:
        row["feedback"] = str(feedback_dir / f"{safe_name(row['student_key'])}.txt")
        settings.atomic_write_text(row["feedback"], feedback_text(row))
    return rows


def _write_csv(rows, path) -> None:
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS, extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: spreadsheet_safe(row.get(k, "")) for k in COLUMNS})
