"""What the grader writes: the pass rule, the gradebook CSV and each student's feedback.

Introduced with the lab (``lab/README.md``). Shared by one submission graded
alone (:mod:`helpers.grader.grade`), a class (:mod:`helpers.grader.gradebook`) and the merge of
a class graded in shards (:mod:`helpers.grader.shards`), so all three pass the same
models against the same thresholds and write the same files. Everything shown or
written is stripped of control characters, and a CSV cell that a spreadsheet
would run as a formula is quoted (OWASP's CSV-injection advice).
"""

from __future__ import annotations

import csv
import hashlib
import re
import unicodedata
from pathlib import Path

from helpers import settings
from helpers.lessons.metrics import ci_text

MIN_TOP1 = 0.80      # the lab's pass line (lab/README.md)
MIN_TOP3 = 0.90
COLUMNS = ["student", "score", "passed", "status", "reason", "top1", "top1_low", "top1_high",
           "top3", "top3_low", "top3_high", "images", "seconds", "submission",
           "submission_sha256", "test_digest", "order_seed"]


def passes(top1, top3, min_top1=MIN_TOP1, min_top3=MIN_TOP3) -> bool:
    """The lab's pass rule: top-1 at least ``min_top1`` and top-3 at least ``min_top3``."""
    return bool(top1 >= min_top1 and top3 >= min_top3)


def pass_line(min_top1=MIN_TOP1, min_top3=MIN_TOP3) -> str:
    """The pass rule in words, as the report and the feedback print it."""
    return f"top-1 >= {min_top1:.2f} and top-3 >= {min_top3:.2f}"


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


def feedback_text(row: dict, min_top1=MIN_TOP1, min_top3=MIN_TOP3) -> str:
    """What a student reads: what was measured, and what to fix."""
    lines = [f"Lab grade for {row['student']}", ""]
    if row["status"] == "ok":
        lines += [f"Measured on {row['images']} test photos you never saw:",
                  f"  top-1 accuracy {ci_text(row['top1'], row['top1_low'], row['top1_high'])}",
                  f"  top-3 accuracy {ci_text(row['top3'], row['top3_low'], row['top3_high'])}",
                  f"Score {row['score']} ({'pass' if row['passed'] else 'not yet a pass'}: "
                  f"the lab needs {pass_line(min_top1, min_top3)}).",
                  "The interval (95% CI) is how far the accuracy could move on another set "
                  "of photos this size."]
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


def write_gradebook(rows, out_csv, feedback_dir=None, min_top1=MIN_TOP1,
                    min_top3=MIN_TOP3) -> list[dict]:
    """Write ``rows`` as the CSV gradebook ``out_csv`` and one feedback file per
    student in ``feedback_dir`` (default: ``feedback/`` beside the CSV), which
    states the thresholds the rows were passed against."""
    out_csv = Path(out_csv)
    feedback_dir = Path(feedback_dir) if feedback_dir else out_csv.parent / "feedback"
    settings.atomic_write(out_csv, lambda tmp: _write_csv(rows, tmp))
    feedback_dir.mkdir(parents=True, exist_ok=True)
    for row in rows:
        row["feedback"] = str(feedback_dir / f"{safe_name(row['student_key'])}.txt")
        settings.atomic_write_text(row["feedback"], feedback_text(row, min_top1, min_top3))
    return rows


def _write_csv(rows, path) -> None:
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS, extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: spreadsheet_safe(row.get(k, "")) for k in COLUMNS})
