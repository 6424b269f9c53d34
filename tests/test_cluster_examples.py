"""The examples that grade a class on a cluster (``lab/cluster/``, issue #36).

The course cannot run Kubernetes or Slurm here. What it can check: each example's
command, as the pod or the array task would expand it, parses with the CLI's own
argument parser; its N commands grade every shard exactly once with one seed and
distinct outputs; the memory it asks for holds what the grader allows a
submission; and the merge, the last step, reads every part they write.
"""

import fnmatch
import re
import shlex
from pathlib import Path

import pytest
import yaml

from helpers.cli import build_parser
from helpers.grader.shards import parse_shard, part_path

CLUSTER = Path(__file__).resolve().parents[1] / "lab" / "cluster"
GRADER_MIB = 2048   # the grader, its worker server and the decoded photos, beside a submission


def _expand(command: str, env: dict) -> list[str]:
    """``command`` as ``sh`` would split it after expanding ``$NAME`` and ``${NAME}``."""
    def value(match):
        name = match.group(1) or match.group(2)
        assert name in env, f"{name} is not set in the example"
        return env[name]
    return shlex.split(re.sub(r"\$(?:\{(\w+)\}|(\w+))", value, command))


def _parse(argv):
    start = argv.index("-m")
    assert argv[start + 1] == "helpers", argv
    return build_parser().parse_args(argv[start + 2:])


def _mebibytes(text: str) -> float:
    number, unit = re.fullmatch(r"(\d+(?:\.\d+)?)([A-Za-z]*)", str(text)).groups()
    return float(number) * {"": 1 / 2**20, "Mi": 1, "M": 1, "Gi": 1024, "G": 1024}[unit]


def _check_shards(commands, n, memory_mib):
    """The N expanded commands of an example: what every example must satisfy."""
    shards, outs, seeds = [], set(), set()
    for argv in commands:
        args = _parse(argv)
        assert args.func.__name__ == "cmd_grade" and args.shard and args.seed is not None
        k, shards_n = parse_shard(args.shard)
        assert shards_n == n, (args.shard, n)
        shards.append(k)
        outs.add(args.out)
        seeds.add(args.seed)
        assert memory_mib >= args.workers * args.memory_mb + GRADER_MIB, \
            f"memory: {memory_mib} MiB for {args.workers} x {args.memory_mb} MB and the grader"
    assert sorted(shards) == list(range(n)), f"not every shard exactly once: {sorted(shards)}"
    assert len(outs) == n and len(seeds) == 1          # one part each, one seed for all
    return [part_path(out) for out in outs]


def _check_merge(argv, parts):
    args = _parse(argv)
    assert args.func.__name__ == "cmd_merge"
    for part in parts:                                  # the merge reads every part written
        assert any(fnmatch.fnmatch(str(part), pattern) for pattern in args.parts), part


def _container(path):
    (job,) = list(yaml.safe_load_all(path.read_text()))
    assert job["kind"] == "Job"
    (container,) = job["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e["value"] for e in container.get("env", [])}
    assert container["command"][:2] == ["sh", "-c"]
    return job, container, env, container["command"][2]


def _writable(container, path):
    mounts = [m for m in container["volumeMounts"] if str(path).startswith(m["mountPath"] + "/")]
    return mounts and not any(m.get("readOnly") for m in mounts)


def test_the_kubernetes_indexed_job_grades_every_shard_once_then_merges():
    job, container, env, command = _container(CLUSTER / "grade-class.k8s.yaml")
    spec = job["spec"]
    assert spec["completionMode"] == "Indexed"
    n = spec["completions"]
    memory = _mebibytes(container["resources"]["limits"]["memory"])
    commands = [_expand(command, {**env, "JOB_COMPLETION_INDEX": str(k)}) for k in range(n)]
    parts = _check_shards(commands, n, memory)
    for argv in commands:
        args = _parse(argv)
        for folder in (args.model, args.test_dir):
            assert any(folder == m["mountPath"] for m in container["volumeMounts"]), folder
        assert _writable(container, args.out) and _writable(container, args.feedback_dir + "/x")
    _, merger, merge_env, merge_command = _container(CLUSTER / "merge.k8s.yaml")
    argv = _expand(merge_command, merge_env)
    _check_merge(argv, parts)
    assert _writable(merger, _parse(argv).out)


def _sbatch(path):
    """The ``#SBATCH`` options, the variables the script sets, and its ``srun`` command."""
    text = path.read_text()
    options = dict(re.findall(r"^#SBATCH --([\w-]+)=(\S+)", text, re.M))
    env = dict(re.findall(r"^(\w+)=(\S+)$", text, re.M))
    joined = re.sub(r"\\\n\s*", " ", text)
    (command,) = [line[len("srun "):] for line in joined.splitlines() if line.startswith("srun ")]
    return options, env, command


def test_the_slurm_array_grades_every_shard_once_then_merges():
    options, env, command = _sbatch(CLUSTER / "grade-class.sbatch")
    first, last = (int(i) for i in re.fullmatch(r"(\d+)-(\d+)", options["array"]).groups())
    assert first == 0                                   # task ids are the shards, from 0
    n = last + 1
    slurm = {"SLURM_CPUS_PER_TASK": options["cpus-per-task"]}
    commands = [_expand(command, {**env, **slurm, "SLURM_ARRAY_TASK_ID": str(k)})
                for k in range(n)]
    parts = _check_shards(commands, n, _mebibytes(options["mem"]))
    options, merge_env, merge_command = _sbatch(CLUSTER / "merge.sbatch")
    _check_merge(_expand(merge_command, {**merge_env, "SLURM_CPUS_PER_TASK": "1"}), parts)
    assert "dependency=afterok" in (CLUSTER / "grade-class.sbatch").read_text()


@pytest.mark.parametrize("broken, message", [
    ("--shard \"$JOB_COMPLETION_INDEX/$SHARDS\"", "not every shard exactly once"),
    ("--memory-mb 3000", "memory: 6144"),
])
def test_the_checks_catch_a_broken_example(broken, message, tmp_path):
    """The checks above fail on an example that grades one shard twice, or asks a pod
    for less memory than the grader lets a submission use."""
    text = (CLUSTER / "grade-class.k8s.yaml").read_text()
    assert broken in text
    bad = text.replace(broken, {"not every shard exactly once": "--shard \"0/$SHARDS\"",
                                "memory: 6144": "--memory-mb 5000"}[message])
    (tmp_path / "job.yaml").write_text(bad)
    job, container, env, command = _container(tmp_path / "job.yaml")
    n = job["spec"]["completions"]
    commands = [_expand(command, {**env, "JOB_COMPLETION_INDEX": str(k)}) for k in range(n)]
    with pytest.raises(AssertionError, match=message):
        _check_shards(commands, n, _mebibytes(container["resources"]["limits"]["memory"]))
