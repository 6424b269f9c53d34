"""How far each notebook check's figures move across seeds and backends (issue #33).

Every ``assert`` in a notebook compares figures that one run measured. This script
runs a notebook headless (the quick profile) with its ``SEED`` parameter set to
each of several seeds, on each Keras backend, and records the figures its asserts
compare, even when an assert fails (the run goes on past it). Each run appends one
line to ``benchmarks/results/assert_margins.jsonl``; a run already there is not
done again, so the sweep can be stopped and resumed, and its table committed as it
grows. ``--table`` writes, between two marker lines of ``benchmarks/README.md``,
for every check, the range each backend measured and the smallest margin any run
left (checks the notebooks no longer assert are left out): a check should keep
only a margin every run clears.

Usage:
  TL_DATA_DIR=../shared/data python benchmarks/assert_margins.py 03 --backends tensorflow --seeds 0 1 2 3 4
  python benchmarks/assert_margins.py --table
"""

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import nbformat

from helpers.course.runner import execute

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "assert_margins.jsonl"

# notebook -> its checks: (name, expression of the figure, comparison, threshold
# expression). The expressions are evaluated in the notebook after it ran.
CHECKS = {
    "01": ("notebooks/01_feature_extraction.ipynb", [
        ("test accuracy >= expect", "test_accuracy.value", ">=", "cfg['expect']"),
        ("worst photo reader >= expect", "min(a.value for a in loader_accuracy.values())", ">=",
         "cfg['expect']"),
    ]),
    "03": ("notebooks/03_ideal_cat.ipynb", [
        ("plain robust p < 0.5", "plain_row['robust']", "<", "0.5"),
        ("TV+jitter robust p >= 0.5", "ideal_row['robust']", ">=", "0.5"),
        ("zebra robust p >= 0.5", "zebra_row['robust']", ">=", "0.5"),
        ("TV+jitter, Lite1 < 0.5", "ideal_row['lite1']", "<", "0.5"),
        ("pair, Lite1 >= 0.5", "shared_row['lite1']", ">=", "0.5"),
        ("pair: Lite2 < Lite1", "shared_row['lite2']", "<", "shared_row['lite1']"),
        ("(taught, not asserted) spectrum outside > TV+jitter outside",
         "natural_row['lite1'] + natural_row['lite2']", ">",
         "ideal_row['lite1'] + ideal_row['lite2']"),
        ("spectrum pair Lite2 > TV pair Lite2", "natural_pair_row['lite2']", ">",
         "shared_row['lite2']"),
    ]),
    "02": ("notebooks/02_fine_tuning.ipynb", [
        ("kept weights: val loss as chosen", "abs(kept_loss - chosen_loss)", "<", "1e-3"),
        ("fine-tuned accuracy >= expect", "accuracy_after.value", ">=", "cfg['expect']"),
        ("not significantly worse (McNemar p when broken > fixed)",
         "p_value if broken > fixed else 1.0", ">=", "0.05"),
    ]),
    "04": ("notebooks/04_adversarial_dog.ipynb", [
        ("saved PNG: L-inf <= epsilon", "np.abs(reloaded - dog).max()", "<=", "EPSILON"),
        ("FGSM by hand: share of pixels unlike fgsm", "differ", "<", "0.01"),
        ("iterative success at 2/255 >= 0.9", "success.value", ">=", "0.9"),
        ("cat-vs-dog head fooled >= 0.5", "shared.value", ">=", "0.5"),
        ("Lite1 fooled <= 0.25", "transfer['efficientnet_lite1'].value", "<=", "0.25"),
        ("Lite2 fooled <= 0.25", "transfer['efficientnet_lite2'].value", "<=", "0.25"),
    ]),
    "05": ("notebooks/05_very_different_images.ipynb", [
        ("MNIST: scratch low > frozen high", "acc['mnist', 'from scratch'].low", ">",
         "acc['mnist', 'frozen features'].high"),
        ("MNIST: scratch > frozen + 0.01", "acc['mnist', 'from scratch'].value", ">",
         "acc['mnist', 'frozen features'].value + 0.01"),
        ("MNIST: best transfer >= 0.948",
         "max(acc['mnist', m].value for m in ('frozen features', 'fine-tuned top'))", ">=",
         "ARTICLE['mnist'][1]"),
        ("MNIST: best transfer high >= 0.948",
         "max(acc['mnist', m].high for m in ('frozen features', 'fine-tuned top'))", ">=",
         "ARTICLE['mnist'][1]"),
        ("CIFAR-10: frozen low > scratch high", "acc['cifar10', 'frozen features'].low", ">",
         "acc['cifar10', 'from scratch'].high"),
        ("fine-tuning paid on a domain", "len(paying)", ">=", "1"),
        ("MNIST: fine-tuning fixed > broke", "counts['mnist'][0]", ">", "counts['mnist'][1]"),
    ]),
    "06": ("notebooks/06_xrays_and_gradcam.ipynb", [
        ("X-rays: best low > majority high", "xr[best_method]['accuracy'].low", ">",
         "majority.high"),
        ("Grad-CAM by hand against gradcam", "gap", "<", "1e-3"),
        ("(taught, not asserted) X-rays: every method's validation low > test high (balanced)",
         "min(r['val_balanced'].low - r['test_balanced'].high for r in xr.values())", ">",
         "0"),
    ]),
    "lab": ("lab/solution.ipynb", [
        ("graded top-1 >= pass line", "result['top1']", ">=",
         "__import__('helpers.grader.gradebook', fromlist=['gradebook']).MIN_TOP1"),
        ("graded top-3 >= pass line", "result['top3']", ">=",
         "__import__('helpers.grader.gradebook', fromlist=['gradebook']).MIN_TOP3"),
    ]),
}


def done() -> set:
    if not RESULTS.exists():
        return set()
    rows = [json.loads(line) for line in RESULTS.read_text().splitlines() if line.strip()]
    return {(r["notebook"], r["backend"], r["seed"]) for r in rows}


def run(key, backend, seed, keep=None) -> dict:
    path, checks = CHECKS[key]
    nb = nbformat.read(ROOT / path, as_version=4)
    at = next(i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", []))
    nb.cells.insert(at + 1, nbformat.v4.new_code_cell(f"SEED = {seed}"))
    # each assert cell may fail: let the run go on past it
    for cell in nb.cells:
        if cell.cell_type == "code" and "assert " in cell.source:
            cell.metadata.setdefault("tags", []).append("raises-exception")
    probe = "import json\nprint('FIGURES', json.dumps({%s}))" % ", ".join(
        f"{name!r}: [float({fig}), float({limit})]" for name, fig, _, limit in checks)
    nb.cells.append(nbformat.v4.new_code_cell(probe))
    # the edited copy lives outside the repository (no test or glob picks it up) and
    # runs in the notebook's own folder
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder) / f"{key}-{backend}-{seed}.ipynb"
        nbformat.write(nb, tmp)
        executed, error = execute(tmp, env={"KERAS_BACKEND": backend, "TL_PROFILE": "quick"},
                                  cwd=(ROOT / path).parent)
    text = "".join(o.get("text", "") for o in executed.cells[-1].outputs)
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        executed.cells.pop()                   # the probe and the seed are not the notebook's
        executed.cells.pop(at + 1)
        nbformat.write(executed, Path(keep) / f"{Path(path).stem}.{backend}-{seed}.ipynb")
    if error is not None:
        raise SystemExit(f"{key} on {backend}, seed {seed}: {str(error)[-2000:]}")
    figures = json.loads(text.split("FIGURES", 1)[1])
    return {"notebook": key, "backend": backend, "seed": seed, "figures": figures,
            "seconds": round(time.perf_counter() - start, 1)}


# checks the notebooks no longer assert: their records keep them, the table leaves them out
RETIRED = {"fine-tuning paid on a domain", "MNIST: scratch low > frozen high",
           "MNIST: best transfer >= 0.948"}

# notebook 06's checks were in notebook 05 until the X-rays got a notebook of their own:
# the runs recorded then count for 06
RECORDED_AS = {"06": "05"}

# the table lives in benchmarks/README.md between these two lines
README = ROOT / "benchmarks" / "README.md"
BEGIN = "<!-- assert_margins.py --table: begin -->"
END = "<!-- assert_margins.py --table: end -->"


def holds(value, op, limit) -> bool:
    return {"<": value < limit, "<=": value <= limit, ">": value > limit,
            ">=": value >= limit}[op]


def table(rows) -> list[str]:
    """For every check still asserted (or taught) and every backend with runs: the
    seeds, the range of the figure, the threshold, the smallest margin and how many
    runs it held in, as Markdown lines."""
    lines = ["| notebook | check | backend (seeds) | figure: min-max | threshold | smallest margin | holds |",
             "|---|---|---|---|---|---|---|"]
    for key, (_, checks) in CHECKS.items():
        for name, _, op, _ in checks:
            if name in RETIRED:
                continue
            for backend in ("tensorflow", "torch", "jax"):
                runs = [r for r in rows if r["notebook"] in (key, RECORDED_AS.get(key))
                        and r["backend"] == backend
                        and name in r["figures"]]         # a check added later: its runs
                if not runs:
                    continue
                pairs = [r["figures"][name] for r in runs]
                figs = [f for f, _ in pairs]
                margins = [abs(f - lim) if holds(f, op, lim) else -abs(f - lim) for f, lim in pairs]
                ok = sum(holds(f, op, lim) for f, lim in pairs)
                limits = sorted({round(lim, 3) for _, lim in pairs})
                limit = str(limits[0]) if len(limits) == 1 else f"{limits[0]}-{limits[-1]}"
                seeds = ",".join(str(r["seed"]) for r in runs)
                lines.append(f"| {key} | {name} | {backend} ({seeds}) | {min(figs):.3f}-{max(figs):.3f} "
                             f"| {op} {limit} | {min(margins):+.3f} | {ok}/{len(runs)} |")
    return lines


def write_table(readme=README, results=RESULTS) -> list[str]:
    """Replace what stands between ``BEGIN`` and ``END`` in ``readme`` with the table
    of ``results``; returns the table's lines."""
    rows = [json.loads(line) for line in Path(results).read_text().splitlines() if line.strip()]
    lines = table(rows)
    text = Path(readme).read_text()
    if text.count(BEGIN) != 1 or text.count(END) != 1 or text.index(BEGIN) > text.index(END):
        raise SystemExit(f"{readme} needs one line {BEGIN!r} and, after it, one {END!r}")
    before, rest = text.split(BEGIN, 1)
    after = rest.split(END, 1)[1]
    Path(readme).write_text(before + BEGIN + "\n" + "\n".join(lines) + "\n" + END + after)
    return lines


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("notebooks", nargs="*", help="of " + ", ".join(CHECKS))
    parser.add_argument("--backends", nargs="+", default=["tensorflow"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2, 3, 4])
    parser.add_argument("--table", action="store_true",
                        help="write the table so far into benchmarks/README.md (and print it)")
    parser.add_argument("--keep", metavar="DIR", help="also save each executed notebook there "
                                                      "(e.g. to build its slides)")
    args = parser.parse_args()
    if args.table:
        print("\n".join(write_table()))
        print(f"written into {README.relative_to(ROOT)}")
        return
    unknown = set(args.notebooks) - set(CHECKS)
    if unknown:
        parser.error(f"no checks listed for {sorted(unknown)}: choose from {list(CHECKS)}")
    have = done()
    for key in args.notebooks:
        for backend in args.backends:
            for seed in args.seeds:
                if (key, backend, seed) in have:
                    continue
                row = run(key, backend, seed, args.keep)
                RESULTS.parent.mkdir(parents=True, exist_ok=True)
                with RESULTS.open("a") as f:
                    f.write(json.dumps(row) + "\n")
                print(f"{key} {backend} seed {seed} ({row['seconds']:.0f} s): {row['figures']}",
                      flush=True)


if __name__ == "__main__":
    sys.exit(main())
