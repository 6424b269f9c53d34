import json

import nbformat
from nbformat.v4 import new_code_cell, new_notebook

from helpers import course


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
    assert course.store_checked(path) == 1
    cells = json.loads(path.read_text())["cells"]
    assert cells[0]["outputs"] == [] and cells[0]["execution_count"] is None
    assert "".join(cells[1]["outputs"][0]["text"]) == "42\n" and cells[1]["execution_count"]
    assert "NotImplementedError" in "".join(cells[2]["source"])   # TODO cell kept as is


def test_run_course_reports_missing_data_and_goes_on(tmp_path, capsys):
    missing = tmp_path / "01_missing.ipynb"
    _notebook(missing, [new_code_cell(
        "from helpers.data import find_dataset\nfind_dataset('oxford_pets', data_dir='/nowhere')")])
    fine = tmp_path / "02_fine.ipynb"
    _notebook(fine, [new_code_cell("print('hello')")])
    status = course.run_course(tmp_path / "out", [missing, fine])
    out = capsys.readouterr().out
    assert status == 1
    assert "missing data" in out and "DatasetUnavailableError" in out
    assert (tmp_path / "out" / "02_fine.html").exists()
    assert (tmp_path / "out" / "01_missing.ipynb").exists()
