import json
import os

import nbformat
from nbformat.v4 import new_code_cell, new_notebook

import pytest

from helpers.course import runner


def _notebook(path, cells):
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nbformat.write(nb, path)


def test_store_checked_keeps_only_checked_outputs(tmp_path):
    path = tmp_path / "demo.ipynb"
    todo = new_code_cell("raise NotImplementedError('TODO')")
    todo.metadata["tags"] = ["nbval-skip"]
    _notebook(path, [new_code_cell("print('noise')"),
                     new_code_cell("# NBVAL_CHECK_OUTPUT\nprint(6 * 7)"), todo])
    assert runner.store_checked(path) == 1
    cells = json.loads(path.read_text())["cells"]
    assert cells[0]["outputs"] == [] and cells[0]["execution_count"] is None
    assert "".join(cells[1]["outputs"][0]["text"]) == "42\n" and cells[1]["execution_count"]
    assert "NotImplementedError" in "".join(cells[2]["source"])   # TODO cell kept as is


def test_run_course_reports_missing_data_and_goes_on(tmp_path, capsys):
    missing = tmp_path / "01_missing.ipynb"
    _notebook(missing, [new_code_cell(
        "from helpers.data.sources import find_dataset\nfind_dataset('oxford_pets', data_dir='/nowhere')")])
    fine = tmp_path / "02_fine.ipynb"
    _notebook(fine, [new_code_cell("print('hello')")])
    status = runner.run_course(tmp_path / "out", [missing, fine])
    out = capsys.readouterr().out
    assert status == 1
    assert "missing data" in out and "DatasetUnavailableError" in out
    assert (tmp_path / "out" / "02_fine.html").exists()
    assert (tmp_path / "out" / "01_missing.ipynb").exists()


def test_runner_kernel_is_encrypted_and_the_terminal_quiet(tmp_path, capfd):
    path = tmp_path / "06_kernel.ipynb"
    _notebook(path, [new_code_cell(
        "from ipykernel.kernelapp import IPKernelApp\n"
        "print('curve:', IPKernelApp.instance().curve_secretkey is not None)")])
    nb, error = runner.execute(path, timeout=120)
    assert error is None
    assert nb.cells[0].outputs[0]["text"] == "curve: True\n"
    assert "without encryption" not in capfd.readouterr().err


def test_warnings_and_tracebacks_are_flagged(tmp_path, capsys):
    noisy = tmp_path / "03_noisy.ipynb"
    _notebook(noisy, [new_code_cell("import warnings\nwarnings.warn('shuffle ignored')"),
                      new_code_cell("print('fine')")])
    quiet = tmp_path / "04_quiet.ipynb"
    _notebook(quiet, [new_code_cell("import helpers, tensorflow as tf\nprint(tf.constant(2) * 21)")])
    runner.run_course(tmp_path / "out", [noisy, quiet])
    out = capsys.readouterr().out
    assert "03_noisy.ipynb" in out and "noisy: 1 warnings" in out and "shuffle ignored" in out
    quiet_line = [line for line in out.splitlines() if "04_quiet.ipynb" in line][-1]
    assert " ok " in quiet_line                  # importing TensorFlow shows nothing


def test_progress_bars_collapse_to_their_last_line(tmp_path):
    path = tmp_path / "05_bars.ipynb"
    _notebook(path, [new_code_cell(
        "from tqdm.auto import tqdm\n"
        "for _ in tqdm(range(3), desc='kept'): pass\n"
        "for _ in tqdm(range(3), desc='transient', leave=False): pass")])
    runner.run_course(tmp_path / "out", [path])
    nb = nbformat.read(tmp_path / "out" / "05_bars.ipynb", as_version=4)
    outputs = nb.cells[0].outputs
    assert [o.get("output_type") for o in outputs] == ["stream"]
    assert "kept: 100%" in outputs[0]["text"] and "3/3" in outputs[0]["text"]
    assert "widgets" not in nb.metadata
    html = (tmp_path / "out" / "05_bars.html").read_text()
    assert "transient: " not in html and "unpkg.com" not in html


def test_nbval_fails_a_notebook_cell_that_shows_a_warning(tmp_path):
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    repo = Path(__file__).resolve().parents[1]
    shutil.copy(repo / "conftest.py", tmp_path / "conftest.py")   # the repo's nbval hook
    path = tmp_path / "zz_noisy.ipynb"
    _notebook(path, [new_code_cell("import warnings\nwarnings.warn('x is deprecated')"),
                     new_code_cell("print('quiet')")])
    out = subprocess.run([sys.executable, "-m", "pytest", str(path), "--nbval-lax",
                          "--nbval-current-env", "-q", "-p", "no:cacheprovider",
                          "--rootdir", str(tmp_path)],
                         cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert "1 failed, 1 passed" in out.stdout, out.stdout[-2000:]
    assert "shows a student a warning" in out.stdout


@pytest.mark.slow
@pytest.mark.notebook
def test_course_runs_notebook_05_without_some_domains_and_says_so(data_root, tmp_path,
                                                                   shared_cache):
    """A copy of the course data (links, never copies) with one of 05's three domains,
    CIFAR-10 (the others cost minutes each, and nbval runs them all): notebook 05 runs
    it, the summary says ok and names what was left out and how to get it, in plain
    text. It runs with the cache nbval's notebooks share (``shared_cache``), as the
    course does: CIFAR-10's activations are computed once for this run and nbval's."""
    import subprocess
    import sys
    from pathlib import Path

    repo = Path(__file__).resolve().parents[1]
    partial = tmp_path / "data"
    partial.mkdir()
    for entry in data_root.iterdir():
        if entry.name not in ("chest_xray", "mnist", "fashion_mnist"):
            (partial / entry.name).symlink_to(entry.resolve())
    out = subprocess.run(
        [sys.executable, "-m", "helpers", "course", "--out", str(tmp_path / "out"),
         str(repo / "notebooks" / "05_very_different_images.ipynb")],
        cwd=repo, capture_output=True, text=True, timeout=1500,
        env={**os.environ, "TL_DATA_DIR": str(partial), "TL_PROFILE": "quick",
             "TL_CACHE_DIR": str(shared_cache)})
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
    line = [ln for ln in out.stdout.splitlines() if "05_very_different_images.ipynb" in ln][-1]
    assert "ok, without" in line and "TL_DATA_DIR" in line, line
    assert all(name in line for name in ("mnist", "fashion_mnist")), line
    assert "\x1b" not in out.stdout
    assert "Point TL_DATA_DIR at the course's data folder" in out.stdout
    nb = nbformat.read(tmp_path / "out" / "05_very_different_images.ipynb", as_version=4)
    printed = "".join(o.get("text", "") for c in nb.cells for o in c.get("outputs", []))
    assert "cifar10        from scratch" in printed
    assert not any(f"{name:14} from scratch" in printed
                   for name in ("mnist", "fashion_mnist"))
