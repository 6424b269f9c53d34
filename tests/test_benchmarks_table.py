"""``benchmarks/assert_margins.py --table`` writes the check-margin table into
``benchmarks/README.md``, between its two marker lines, and nowhere else."""

import importlib.util
import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def margins():
    spec = importlib.util.spec_from_file_location("assert_margins",
                                                  REPO / "benchmarks" / "assert_margins.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _run(seed, accuracy, paid):
    return {"notebook": "05" if paid is not None else "01", "backend": "tensorflow",
            "seed": seed, "figures": {"test accuracy >= expect": [accuracy, 0.98]}
            if paid is None else {"fine-tuning paid on a domain": [paid, 1.0]}}


def test_table_replaces_only_what_stands_between_the_markers(margins, tmp_path):
    results = tmp_path / "runs.jsonl"
    results.write_text("".join(json.dumps(r) + "\n" for r in (
        _run(0, 0.990, None), _run(1, 0.975, None), _run(0, None, 2.0))))
    readme = tmp_path / "README.md"
    readme.write_text(f"# Title\n\nbefore\n{margins.BEGIN}\nan old table\n{margins.END}\nafter\n")
    lines = margins.write_table(readme, results)
    text = readme.read_text()
    assert text.startswith("# Title\n\nbefore\n") and text.endswith(f"{margins.END}\nafter\n")
    assert "an old table" not in text
    assert "\n".join(lines) in text
    row = [ln for ln in lines if "test accuracy" in ln]
    # both seeds, the range, the smallest margin (negative: seed 1 failed), 1 of 2 held
    assert row == ["| 01 | test accuracy >= expect | tensorflow (0,1) | 0.975-0.990 | >= 0.98 "
                   "| -0.005 | 1/2 |"]
    assert "fine-tuning paid" not in text            # a retired check is left out
    assert margins.write_table(readme, results) == lines and readme.read_text() == text


def test_table_refuses_a_file_without_its_markers(margins, tmp_path):
    results = tmp_path / "runs.jsonl"
    results.write_text(json.dumps(_run(0, 0.99, None)) + "\n")
    readme = tmp_path / "README.md"
    readme.write_text("no markers here\n")
    with pytest.raises(SystemExit, match="needs one line"):
        margins.write_table(readme, results)
    assert readme.read_text() == "no markers here\n"


def test_the_committed_table_is_the_one_the_records_give(margins):
    """benchmarks/README.md holds what ``--table`` writes from the committed records."""
    rows = [json.loads(line) for line in margins.RESULTS.read_text().splitlines() if line.strip()]
    text = margins.README.read_text()
    block = text.split(margins.BEGIN, 1)[1].split(margins.END, 1)[0].strip("\n")
    assert block == "\n".join(margins.table(rows))
