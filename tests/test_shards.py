"""A class graded in shards: who lands where, and what the merge refuses (issue #36).

The real grading of a class as 1 shard and as 4, merged and compared row by row,
is in ``tests/test_gradebook.py``; the cluster examples in ``tests/test_cluster_examples.py``.
"""

import csv
import json
import os
import subprocess
import sys

import pytest

from helpers.grader import gradebook, shards
from helpers.cli import main

HOSTILE = ["zoë", "李雷", "a b", "x\x1b[31my", os.fsdecode(b"Zo\xeb")]   # the last: not UTF-8
NAMES = [f"student{i:03d}" for i in range(200)] + HOSTILE


def test_a_students_shard_is_the_same_in_every_process_and_on_every_run():
    here = [shards.shard_of(name, 7) for name in NAMES]
    code = ("import json, sys; from helpers.grader.shards import shard_of; "
            "print(json.dumps([shard_of(n, 7) for n in json.loads(sys.argv[1])]))")
    for hash_seed in ("1", "2"):       # Python's hash() would differ between these two
        out = subprocess.run([sys.executable, "-c", code, json.dumps(NAMES)], check=True,
                             capture_output=True, text=True,
                             env={**os.environ, "PYTHONHASHSEED": hash_seed})
        assert json.loads(out.stdout) == here
    assert set(here) == set(range(7))              # 204 names reach every one of 7 shards
    assert max(here.count(k) for k in range(7)) < 2 * len(NAMES) / 7


def test_a_late_submission_moves_nobody_else():
    before = {name: shards.shard_of(name, 4) for name in NAMES}
    after = {name: shards.shard_of(name, 4) for name in NAMES + ["late_larry"]}
    assert all(after[name] == shard for name, shard in before.items())


@pytest.mark.parametrize("text, message", [("3", "write K/N"), ("a/4", "write K/N"),
                                           ("4/4", "0 to N-1"), ("-1/4", "0 to N-1"),
                                           ("0/0", "N at least 1")])
def test_a_bad_shard_says_how_to_write_one(text, message):
    with pytest.raises(ValueError, match=message):
        shards.parse_shard(text)
    assert shards.parse_shard("3/4") == (3, 4)


def _row(student, score):
    row = {key: "" for key in gradebook.COLUMNS}
    row.update(student=gradebook.clean(student), student_key=student, score=score,
               passed=score >= 80, status="ok" if score else "refused",
               reason="" if score else "no .keras file", images=10, seconds=1.0,
               test_digest="d" * 64, order_seed=7, submission_sha256="")
    if score:
        row.update({k: score / 100 for k in ("top1", "top1_low", "top1_high", "top3",
                                             "top3_low", "top3_high")})
    return row


def _parts(tmp_path, roster, n=4, seed=7, skip=(), twice=()):
    """The N parts a sharded grading of ``roster`` writes, made by hand."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    paths = []
    for k in range(n):
        if k in skip:
            continue
        mine = [name for name in roster if shards.shard_of(name, n) == k or name in twice]
        rows = [_row(name, 50 + len(name)) for name in mine]
        out = tmp_path / f"part-{k}.csv"
        shards.write_part(rows, roster, (k, n), seed, "d" * 64, out, gradebook.COLUMNS)
        gradebook.write_gradebook(rows, out, tmp_path / f"feedback-{k}")
        paths.append(shards.part_path(out))
    return paths


def test_merge_writes_the_gradebook_one_run_writes(tmp_path):
    roster = NAMES[:30] + HOSTILE
    merged = shards.merge(_parts(tmp_path, roster), tmp_path / "merged.csv")
    assert [r["student_key"] for r in merged] == sorted(roster)
    rows = [_row(name, 50 + len(name)) for name in sorted(roster)]
    gradebook.write_gradebook(rows, tmp_path / "one" / "grades.csv")
    assert ((tmp_path / "merged.csv").read_text() ==
            (tmp_path / "one" / "grades.csv").read_text())
    for name in roster:
        file = f"{gradebook.safe_name(name)}.txt"
        assert ((tmp_path / "feedback" / file).read_text() ==
                (tmp_path / "one" / "feedback" / file).read_text())


def test_an_empty_shard_still_writes_its_part(tmp_path):
    roster = NAMES[:2]
    paths = _parts(tmp_path, roster, n=8)
    assert len(paths) == 8                                   # 2 students, 8 parts
    empty = [p for p in paths if not json.loads(p.read_text())["rows"]]
    assert len(empty) >= 6
    with open(empty[0].with_name(empty[0].name.replace(".part.json", ".csv"))) as f:
        assert next(csv.reader(f)) == gradebook.COLUMNS and not list(f)
    assert len(shards.merge(paths, tmp_path / "merged.csv")) == 2


def _refused(paths, tmp_path):
    with pytest.raises(shards.MergeError) as e:
        shards.merge(paths, tmp_path / "merged.csv")
    assert not (tmp_path / "merged.csv").exists()            # nothing written when refused
    return str(e.value)


def test_merge_names_a_missing_shard_and_a_shard_given_twice(tmp_path):
    roster = NAMES[:40]
    paths = _parts(tmp_path, roster, skip={2})
    message = _refused(paths, tmp_path)
    assert "missing shard 2/4" in message and "--shard K/4" in message
    message = _refused(paths + [paths[0]], tmp_path)
    assert "shard 0/4 was given 2 times" in message


@pytest.mark.parametrize("victim", ["student007", "x\x1b[31my", os.fsdecode(b"Zo\xeb")])
def test_merge_names_a_student_graded_twice_or_by_the_wrong_shard(victim, tmp_path):
    roster = NAMES[:40] + [victim]
    k = shards.shard_of(victim, 4)
    message = _refused(_parts(tmp_path, roster, twice={victim}), tmp_path)
    shown = gradebook.clean(victim)                 # no escape codes reach the console
    assert "\x1b" not in message and "\udceb" not in message
    assert f"graded more than once: {shown}" in message
    assert f"{shown} (belongs to shard {k}/4)" in message


def test_merge_refuses_parts_of_different_gradings(tmp_path):
    roster = NAMES[:40]
    paths = _parts(tmp_path / "a", roster)
    other = _parts(tmp_path / "b", roster, seed=8)
    assert "differ in their order seed" in _refused(paths[:2] + other[2:], tmp_path)
    late = _parts(tmp_path / "c", roster + ["late_larry"])
    message = _refused(paths[:3] + late[3:], tmp_path)
    assert "did not see late_larry" in message and "run every shard again" in message
    data = json.loads(paths[1].read_text())
    data["min_top1"] = 0.0                           # a shard graded with --min-top1 0
    paths[1].write_text(json.dumps(data))
    assert "differ in their pass threshold --min-top1" in _refused(paths, tmp_path)
    data["min_top1"] = json.loads(paths[0].read_text())["min_top1"]
    paths[1].write_text(json.dumps(data))
    data = json.loads(paths[0].read_text())
    data["grader_version"] = "0.1.0+000000000000"
    paths[0].write_text(json.dumps(data))
    assert "differ in their grader version" in _refused(paths, tmp_path)


def test_merge_says_which_file_is_not_a_part(tmp_path):
    (tmp_path / "notes.part.json").write_text("{not json")
    assert "notes.part.json: not a readable gradebook part" in _refused(
        [tmp_path / "notes.part.json"], tmp_path)
    assert "no such part" in _refused([tmp_path / "nowhere.csv"], tmp_path)
    paths = _parts(tmp_path / "a", NAMES[:10], n=2)
    data = json.loads(paths[1].read_text())
    del data["shard"]
    data["rows"] = [{"student": "no key"}]
    paths[1].write_text(json.dumps(data))
    message = _refused(paths, tmp_path)
    assert "part-1.part.json: a damaged gradebook part (rows, shard missing or wrong)" in message


def test_a_name_handed_in_twice_gets_one_row_that_says_so(tmp_path):
    (tmp_path / "alice").mkdir()
    (tmp_path / "alice" / "model.keras").write_bytes(b"PK")
    (tmp_path / "alice.keras").write_bytes(b"PK")
    (tmp_path / "bob.keras").write_bytes(b"PK")
    found = gradebook.find_submissions(tmp_path)
    assert [(s, f is None) for s, f, _ in found] == [("alice", True), ("bob", False)]
    assert "two submissions under this name (alice.keras and the folder alice/)" in found[0][2]


def test_a_shard_that_cannot_write_stops_before_grading(tmp_path, capsys):
    (tmp_path / "subs").mkdir()
    (tmp_path / "blocked").write_text("a file where the parts' folder should be")
    assert main([
        "grade", str(tmp_path / "subs"), "--test-dir", str(tmp_path / "nowhere"), "--seed", "1",
        "--shard", "0/2", "--out", str(tmp_path / "blocked" / "part-0.csv")]) == 2
    # (before the missing test folder is read)
    err = capsys.readouterr().err
    assert f"cannot write to {tmp_path / 'blocked'}" in err and "Traceback" not in err


def test_the_cli_requires_a_seed_for_a_shard_and_merges(tmp_path, capsys):
    assert main(["grade", str(tmp_path), "--test-dir", str(tmp_path),
                 "--out", str(tmp_path / "p.csv"), "--shard", "0/2"]) == 2
    assert "--shard needs --seed" in capsys.readouterr().err
    paths = _parts(tmp_path, NAMES[:10], n=2)
    assert main(["gradebook", "merge", *map(str, paths), "--out", str(tmp_path / "g.csv")]) == 0
    assert "10 students" in capsys.readouterr().out
    assert main(["gradebook", "merge", str(paths[0]), "--out", str(tmp_path / "h.csv")]) == 2
    assert "missing shard 1/2" in capsys.readouterr().err
