"""Grading a whole class: ``python -m helpers grade SUBMISSIONS/ --test-dir DIR --out gradebook.csv``.

Introduced with the lab (``lab/README.md``, "Grading a class"). Each student
hands in one ``.keras`` file: ``SUBMISSIONS/<student>.keras``, or
``SUBMISSIONS/<student>/<anything>.keras``. For every submission:

1. :func:`helpers.grader.inspection.inspect` reads the archive without building it
   and refuses what it must (code, foreign modules, bombs, links);
2. a process of its own, forked by a worker server (:mod:`helpers.grader.sandbox`),
   loads it with Keras' ``safe_mode`` and runs it on the test photos, under a
   wall-time limit and a memory limit (the resident memory it allocates, watched
   from outside every 50 ms, and an address-space cap inside);
3. the grader scores the outputs: top-1 and top-3 with 95% intervals.

The test photos are decoded once per input size and shared by every worker, and
each model sees them in an order and batches drawn from the gradebook's seed
(:mod:`helpers.grader.testphotos`). Every submission gets a row, whatever happens
(``ok``, ``refused``, ``failed``, ``timeout``, ``out of memory``), and a feedback
file of its own; an error nobody foresaw in a check, a decode or a run becomes
``failed`` with its reason, never the end of the class. The CSV records the test
folder's digest and the order seed, so a grade can be reproduced. The pass rule,
the CSV and the feedback files are :mod:`helpers.grader.gradesheet`'s.
"""

from __future__ import annotations

import collections
import concurrent.futures
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from helpers import settings
from helpers.grader import shards
from helpers.grader.sandbox import Pool
from helpers.grader.gradesheet import (COLUMNS, MIN_TOP1, MIN_TOP3, clean, feedback_text,  # noqa: F401
                                passes, safe_name, spreadsheet_safe, write_gradebook)
from helpers.grader.inspection import RefusedSubmission, inspect
from helpers.grader.testphotos import (DecodedPhotos, TestSet, decoded_photos, load_test_set,  # noqa: F401
                                new_seed, order_and_batches, unshuffle)

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
    from helpers.lessons.metrics import top_k

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


def grade_one(student, model, test: TestSet, workdir: Path, timeout=120.0,
              memory_mb=3000, keep_outputs=False, pool=None, seed=None, photos=None,
              info=None, min_top1=MIN_TOP1, min_top3=MIN_TOP3) -> dict:
    """One row of the gradebook (see :data:`COLUMNS`), whatever the submission does,
    passed against ``min_top1`` and ``min_top3`` (:func:`helpers.grader.gradesheet.passes`).
    ``keep_outputs`` adds the model's outputs and the true labels (single grading).
    ``seed`` draws the order of the photos (default: a fresh one); ``photos``, a
    :class:`helpers.grader.testphotos.DecodedPhotos` shared by a class; ``info``, the
    submission's :class:`helpers.grader.inspection.Inspection` when the caller has it."""
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
                              memory_mb, keep_outputs, pool, seed, photos, (min_top1, min_top3))
    except Exception as e:  # nothing a submission does may stop the class
        return done("failed", f"the grader could not grade it ({e.__class__.__name__}: "
                              f"{str(e)[:200]}); tell your instructor")
    finally:
        if photos is not None:
            photos.release(size)


def _run_and_score(row, done, model, info, size, test, workdir, timeout, memory_mb,
                   keep_outputs, pool, seed, photos, thresholds):
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
    unknown = result["unknown_classes"]
    return done("ok", (f"the model does not know {len(unknown)} classes of the test photos: "
                       f"{', '.join(unknown[:5])}" if unknown else ""),
                score=round(100 * result["top1"], 1),
                passed=passes(result["top1"], result["top3"], *thresholds),
                top1=round(result["top1"], 4), top1_low=round(result["top1_ci95"][0], 4),
                top1_high=round(result["top1_ci95"][1], 4), top3=round(result["top3"], 4),
                top3_low=round(result["top3_ci95"][0], 4),
                top3_high=round(result["top3_ci95"][1], 4))


# ------------------------------------------------------------------ a class

def _inspection(model):
    try:
        return inspect(model)
    except Exception:          # refused (or worse): grade_one says why; no photos needed
        return None


def grade_class(submissions, test_dir, out_csv, feedback_dir=None, workers=2, timeout=120.0,
                memory_mb=3000, progress=True, seed=None, shard=None, min_top1=MIN_TOP1,
                min_top3=MIN_TOP3) -> list[dict]:
    """Grade every submission in ``submissions``; write the CSV gradebook and one
    feedback file per student; return the rows (sorted by student). ``seed`` draws
    the order of the photos for every model (default: a fresh one, recorded in
    the gradebook's ``order_seed`` column). ``shard = (K, N)`` grades only the
    students of shard K of N (:mod:`helpers.grader.shards`, which needs a ``seed``) and
    writes the part's ``.part.json`` beside ``out_csv``, for ``gradebook merge``.
    A submission passes with top-1 >= ``min_top1`` and top-3 >= ``min_top3``."""
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
                                               info=infos[model], min_top1=min_top1,
                                               min_top3=min_top3))
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
        shards.write_part(rows, roster, shard, seed, test.digest, out_csv, COLUMNS,
                          (min_top1, min_top3))
    return write_gradebook(rows, out_csv, feedback_dir, min_top1, min_top3)


def _check_writable(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as e:
        raise PermissionError(f"cannot write to {folder} ({e.__class__.__name__}: "
                              f"{e.strerror or e}): create it, writable by this user, "
                              "before grading") from None
