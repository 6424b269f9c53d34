"""``python -m helpers save`` (:mod:`helpers.course.onesource`): a notebook's ``#@save``
cells written into their module, in place, and nothing more."""

import json

from helpers.course import onesource

MODULE = ('"""A module."""\n\nimport math\n\n# Notebook 01\'s `#@save` cells.\n\n'
          "def head(x, dropout=0.2):\n    return x\n\n\ndef kept():\n    return 1\n\n\nRATE = 3\n")


def notebook(tmp_path, cells):
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "helpers" / "lessons").mkdir(parents=True)
    (tmp_path / "helpers" / "lessons" / "demo.py").write_text(MODULE)
    nb = {"cells": [{"cell_type": "code", "source": source, "metadata": {}, "outputs": []}
                    for source in cells], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    (tmp_path / "notebooks" / "01_x.ipynb").write_text(json.dumps(nb))
    return tmp_path / "helpers" / "lessons" / "demo.py"


def test_save_replaces_in_place_appends_and_imports(tmp_path):
    cell = ("#@save helpers.lessons.demo\nimport os\nfrom helpers.lessons.demo import kept\n"
            "\n@staticmethod\ndef head(x, dropout=0.3):\n"
            "    return os.sep + x\n\n\nRATE = 4\n\n\n# new in 01\ndef fresh():\n    return 2\n")
    path = notebook(tmp_path, [cell, "print('not saved')"])
    assert onesource.save(tmp_path, write=False) == [path]          # --check: out of date
    assert onesource.save(tmp_path) == [path]
    text = path.read_text()
    assert "import math\nimport os\n" in text                       # after the last import
    assert "import kept" not in text                                # the module's own name
    assert text.index("def head(x, dropout=0.3)") < text.index("def kept()")   # in place
    assert "@staticmethod\ndef head" in text and "dropout=0.2" not in text
    assert "RATE = 4" in text and "RATE = 3" not in text
    assert text.rstrip().endswith("# new in 01\ndef fresh():\n    return 2")
    assert onesource.save(tmp_path) == []                           # current: nothing to do


def test_save_names_a_wrong_marker(tmp_path):
    notebook(tmp_path, ["#@save helpers.nothing\ndef f():\n    pass\n"])
    try:
        onesource.save(tmp_path)
    except ValueError as e:
        assert "helpers.nothing" in str(e)
    else:
        raise AssertionError("a marker naming no module was accepted")


def test_the_course_is_current_and_the_command_says_so(capsys):
    assert onesource.main(["--check"]) == 0
    assert "every #@save cell is in its module" in capsys.readouterr().out
