"""One source for the lesson's code (d2l's ``#@save``).

A notebook shows the code it teaches in its own cells. A cell whose first line is
``#@save helpers.<module>`` holds definitions that the rest of the course reuses
(a later notebook, the ``dream`` / ``attack`` / ``train`` commands, the grader):
``helpers/<module>.py`` must hold each of them word for word: ``python -m helpers save``
writes them there (never edit the module's copy). This test fails, with the difference
and the command, when a module is out of date.

A ``#@save`` cell holds only definitions, imports, module constants (one
upper-case name assigned once, such as a cache) and comments: anything else in it would run in
the notebook but be missing from helpers.
"""

from __future__ import annotations

import ast
import difflib
import importlib.util
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted(ROOT.glob("notebooks/*.ipynb")) + sorted(ROOT.glob("lab/*.ipynb"))
MARK = "#@save"


def saved_cells(notebooks=NOTEBOOKS):
    """(notebook, cell index, module name, cell source) of every ``#@save`` cell."""
    for path in notebooks:
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        for i, cell in enumerate(cells):
            source = "".join(cell["source"])
            first = source.split("\n", 1)[0].strip()
            if cell["cell_type"] == "code" and first.startswith(MARK):
                yield path, i, first[len(MARK):].strip(), source


def definitions(source: str) -> dict[str, str]:
    """Top-level functions, classes and constants of ``source``: name -> text
    (decorators and the constant's whole line included)."""
    lines = source.splitlines()
    out = {}
    for node in ast.parse(source).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            first = min([node.lineno] + [d.lineno for d in node.decorator_list])
            out[node.name] = "\n".join(line.rstrip() for line in lines[first - 1:node.end_lineno])
        elif _constant(node):
            out[node.targets[0].id] = "\n".join(
                line.rstrip() for line in lines[node.lineno - 1:node.end_lineno])
    return out


def _constant(node) -> bool:
    """``NAME = ...``: one upper-case name (PEP 8's constants), assigned once."""
    return (isinstance(node, ast.Assign) and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name)
            and re.fullmatch(r"_?[A-Z][A-Z0-9_]*", node.targets[0].id) is not None)


def check_cell(path, index, module, source) -> list[str]:
    """What differs between one ``#@save`` cell and its module; empty when nothing."""
    where = f"{path.relative_to(ROOT)} cell {index}"
    spec = importlib.util.find_spec(module) if module.startswith("helpers.") else None
    if spec is None or spec.origin is None:
        return [f"{where}: '{MARK} {module}' names no module of helpers "
                f"(write e.g. '{MARK} helpers.lessons.train')"]
    problems = []
    for node in ast.parse(source).body:
        if not (isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef,
                                  ast.Import, ast.ImportFrom)) or _constant(node)):
            problems.append(f"{where}: line {node.lineno} is not a definition; a {MARK} cell "
                            "holds only functions, classes and constants (move the rest to "
                            "the next cell)")
    cell_defs = definitions(source)
    if not any(isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
               for node in ast.parse(source).body):
        problems.append(f"{where}: a {MARK} cell without a function or class")
    module_defs = definitions(Path(spec.origin).read_text(encoding="utf-8"))
    for name, text in cell_defs.items():
        if name not in module_defs:
            problems.append(f"{where}: {name} is not in {module} ({spec.origin})")
        elif text != module_defs[name]:
            diff = difflib.unified_diff(module_defs[name].splitlines(), text.splitlines(),
                                        f"{module}.{name}", f"{where}", lineterm="")
            problems.append(f"{where}: {name} differs from {module}.{name}:\n" + "\n".join(diff))
    return problems


CELLS = list(saved_cells())


@pytest.mark.parametrize("path,index,module,source", CELLS,
                         ids=[f"{p.stem}-{i}" for p, i, _, _ in CELLS])
def test_saved_cell_is_helpers_word_for_word(path, index, module, source):
    problems = check_cell(path, index, module, source)
    if problems:
        pytest.fail("\n\n".join(problems) + "\n\nThe notebook is the source: run "
                    "`python -m helpers save` to write its cells into helpers.",
                    pytrace=False)


def test_every_notebook_shows_its_lesson_code():
    """Each of the six notebooks saves what it teaches (issue #25's list)."""
    saved = {}
    for path, _, module, source in CELLS:
        saved.setdefault(path.stem[:2], set()).update(definitions(source))
    expected = {
        "01": {"make_head", "train_head", "build_classifier", "cached_features"},
        "02": {"augmentation", "unfreeze_top", "mcnemar"},
        "03": {"random_jitter", "jitter_transform", "total_variation", "dream_loss", "draw",
               "tensorflow_gradient", "torch_gradient", "jax_gradient", "input_gradient",
               "spectrum_image", "natural_loss", "draw_natural", "robust_probability"},
        "04": {"attack_loss", "attack_step", "attack", "fgsm"},
        "05": {"scratch_cnn", "fit_best", "train_scratch", "split_backbone", "frozen_head",
               "fine_tune", "image_model", "three_ways"},
        "06": {"carve", "class_score", "gradcam"},
    }
    for notebook, names in expected.items():
        assert names <= saved.get(notebook, set()), (notebook, names - saved.get(notebook, set()))


def test_a_drifted_cell_fails(tmp_path):
    """The check itself: one changed character in a saved cell is reported, with the diff."""
    path, index, module, source = next(c for c in CELLS if "make_head" in c[3])
    drifted = source.replace("dropout=0.2", "dropout=0.3", 1)
    problems = check_cell(path, index, module, drifted)
    assert len(problems) == 1 and "make_head differs" in problems[0]
    assert "-def make_head(num_features, num_classes, dropout=0.2" in problems[0]
    assert "+def make_head(num_features, num_classes, dropout=0.3" in problems[0]
    extra = source + "\nhead = make_head(1280, 2)\n"
    assert any("not a definition" in p for p in check_cell(path, index, module, extra))
    gradient = next(c for c in CELLS if "_STEPS = " in c[3])          # a constant drifts too
    changed = gradient[3].replace("WeakKeyDictionary()", "WeakValueDictionary()")
    assert any("_STEPS differs" in p for p in check_cell(*gradient[:3], changed))
    assert "names no module" in check_cell(path, index, "helpers.nothing", source)[0]
