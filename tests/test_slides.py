"""The decks' structure, without a browser (issue #34): each ``##`` section starts a
slide, and ``fit_slides`` sends a section too tall for one slide on downward.
``test_browser.py`` measures the real decks in Chromium."""

import json
from pathlib import Path

import nbformat
import pytest

from helpers.course.slides import (OUTPUT_ONLY, SLIDE_HEIGHT, cell_height, fit_slides, quiz_slides,
                                split_tall_cells)

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted(ROOT.glob("notebooks/0*.ipynb")) + sorted(ROOT.glob("lab/*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_each_section_starts_a_slide(path):
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    for i, cell in enumerate(cells):
        text = "".join(cell["source"])
        if cell["cell_type"] != "markdown":
            continue
        kind = cell["metadata"].get("slideshow", {}).get("slide_type")
        if text.startswith(("# ", "## ")):
            assert kind == "slide", f"{path.name} cell {i} ({text[:40]!r}) is {kind!r}, not a slide"
        # a section heading in the middle of a cell would start no slide
        assert "\n## " not in text, f"{path.name} cell {i}: split it at its '## ' heading"


def test_a_long_section_goes_on_in_subslides():
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("## A section", metadata={"slideshow": {"slide_type": "slide"}})]
    nb.cells += [nbformat.v4.new_code_cell("\n".join(f"x = {i}" for i in range(12)))
                 for _ in range(5)]
    kinds = [c.metadata["slideshow"].get("slide_type", "-") for c in fit_slides(nb).cells]
    assert kinds[0] == "slide" and "subslide" in kinds[1:]
    # no slide the estimate fills past the height
    used = 0
    for cell in nb.cells:
        if cell.metadata["slideshow"].get("slide_type") in ("slide", "subslide"):
            used = 0
        used += cell_height(cell)
        assert used <= SLIDE_HEIGHT
    # a short section stays on one slide
    short = nbformat.v4.new_notebook()
    short.cells = [nbformat.v4.new_markdown_cell("## B", metadata={"slideshow": {"slide_type": "slide"}}),
                   nbformat.v4.new_code_cell("x = 1")]
    assert [c.metadata["slideshow"].get("slide_type", "-") for c in fit_slides(short).cells] == ["slide", "-"]


def test_quiz_cells_become_a_question_per_slide_and_its_answer():
    from helpers.lessons import quiz

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell('quiz.show("02", "pre")'), nbformat.v4.new_code_cell("x = 1")]
    cells = quiz_slides(nb).cells
    questions = quiz.questions("02", "pre")
    assert len(cells) == 2 * len(questions) + 1
    first, answer = cells[0], cells[1]
    assert questions[0]["text"] in first.source and first.metadata["slideshow"]["slide_type"] == "subslide"
    assert questions[0]["explain"] in answer.source
    assert answer.metadata["slideshow"]["slide_type"] == "fragment"
    assert cells[-1].source == "x = 1"


def test_an_executed_cell_too_tall_shows_its_code_then_its_outputs():
    """Code, a printed table and a figure do not fit one slide: the code stays, and
    its outputs follow on subslides of their own, as many to a slide as fit."""
    png = {"image/png": "iVBORw0KGgo=", "text/plain": "<Figure>"}
    cell = nbformat.v4.new_code_cell("\n".join(f"x = {i}" for i in range(14)), outputs=[
        nbformat.v4.new_output("stream", name="stdout", text="row " * 30 + "\n" * 15),
        nbformat.v4.new_output("display_data", data=png),
        nbformat.v4.new_output("display_data", data=png)])
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("## A section"), cell]
    assert cell_height(cell) > SLIDE_HEIGHT
    cells = split_tall_cells(nb).cells
    assert cells[1].source == cell.source and not cells[1].outputs
    shown = cells[2:]
    assert [len(c.outputs) for c in shown] == [1, 1, 1]     # a figure needs a slide of its own
    for c in shown:
        assert OUTPUT_ONLY in c.metadata["tags"] and c.metadata["slideshow"]["slide_type"] == "subslide"
        assert cell_height(c) <= SLIDE_HEIGHT
    assert len({c.id for c in cells}) == len(cells)
    nbformat.validate(nb)


def test_pages_and_slides_hide_the_line_that_is_for_nbval(tmp_path):
    """The student reads the cell, not the test's marker; the notebook keeps it."""
    from helpers.course.runner import CHECK_MARK, without_test_marks
    from helpers.course.slides import write_slides

    path = ROOT / "notebooks" / "01_feature_extraction.ipynb"
    nb = nbformat.read(path, as_version=4)
    marked = [c for c in nb.cells if c.cell_type == "code" and CHECK_MARK in c.source]
    assert marked
    shown = without_test_marks(nb)
    assert not any(CHECK_MARK in c.source for c in shown.cells)
    assert "print(photos.describe())" in "".join(c.source for c in shown.cells)
    assert CHECK_MARK in marked[0].source          # the original is untouched
    deck = write_slides([path], tmp_path)[0].read_text(encoding="utf-8")
    assert CHECK_MARK not in deck and "describe" in deck
