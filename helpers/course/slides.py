"""Slides for instructors: ``python -m helpers slides NOTEBOOK... --out DIR``.

Each notebook becomes a reveal.js deck (nbconvert's ``SlidesExporter``), one
slide per section: cells carry ``slideshow`` metadata (a heading starts a slide,
a long code cell is a fragment), and a section too tall for one slide goes on
downward in subslides (``fit_slides``). The self-check questions become one slide
each, the answer on the next fragment (``quiz_slides``). reveal.js itself is copied from the
``sphinx-revealjs`` package, installed with the course, into ``DIR/reveal.js``,
so the decks open offline straight from the disk: no CDN, no server.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from helpers.course.runner import without_test_marks

TEMPLATES = Path(__file__).parent / "templates"


def reveal_js() -> Path:
    """The reveal.js distribution shipped by the PyPI package ``sphinx-revealjs``."""
    try:
        import sphinx_revealjs
    except ImportError:
        raise FileNotFoundError("slides need a local reveal.js: `pip install -r "
                                "requirements.txt` (it installs sphinx-revealjs)") from None
    folder = Path(sphinx_revealjs.__file__).parent / "_static" / "revealjs"
    if not (folder / "dist" / "reveal.js").exists():
        raise FileNotFoundError(f"{folder}: no dist/reveal.js in this sphinx-revealjs")
    return folder


# What a cell takes on a 1100 x 760 slide, in pixels, measured in Chromium on the
# course's decks (tests/test_browser.py checks every slide fits).
SLIDE_HEIGHT = 700
MARKDOWN_LINE, TABLE_ROW, CODE_LINE, CELL_PADDING, FIGURE = 31, 45, 22, 30, 560
CODE_COLUMNS = 92   # characters of code or output on a line before it wraps
OUTPUT_ONLY = "slides-output-only"   # a tag: the deck shows this cell's outputs, not its code


def cell_height(cell) -> int:
    """A cell's height on a slide, estimated from its source and outputs."""
    lines = max(1, cell.source.count("\n") + 1)
    if cell.cell_type == "markdown":
        rows = [line for line in cell.source.splitlines() if line.startswith("|")]
        wrapped = sum(1 + len(row) // 90 for row in rows)   # a long row wraps
        return CELL_PADDING + MARKDOWN_LINE * (lines - len(rows)) + TABLE_ROW * wrapped
    shown = "" if OUTPUT_ONLY in cell.metadata.get("tags", []) else cell.source
    height = CELL_PADDING + CODE_LINE * _wrapped(shown) * bool(shown)
    for output in cell.get("outputs", []):
        data = output.get("data", {})
        if "image/png" in data:
            height += FIGURE
        else:
            text = output.get("text", "") or data.get("text/plain", "")
            height += CODE_LINE * min(_wrapped(str(text)), 40)
    return height


def _wrapped(text: str, width: int = CODE_COLUMNS) -> int:
    """Lines of ``text`` on a slide, a line longer than ``width`` wrapping."""
    return sum(1 + len(line) // width for line in text.splitlines()) or 1


QUIZ_CELL = re.compile(r'^quiz\.show\("(?P<notebook>\w+)", "(?P<when>pre|post)"\)\s*$')


def quiz_slides(nb):
    """Each ``quiz.show(...)`` cell becomes its questions, one per subslide with its
    answer on the next fragment, for an instructor to ask the class (issue #35)."""
    import nbformat

    from helpers.lessons import quiz
    from helpers.lessons.phrases import phrase

    lang = nb.metadata.get("language") or "en"    # a translated notebook's (issue #47)
    cells = []
    for cell in nb.cells:
        match = QUIZ_CELL.match(cell.source.strip()) if cell.cell_type == "code" else None
        if not match:
            cells.append(cell)
            continue
        for q in quiz.questions(match["notebook"], match["when"], lang):
            options = "\n".join(f"{chr(65 + i)}. {o}" for i, o in enumerate(q.get("options", [])))
            key = (f"{q['answer']:,}" if quiz.is_numeric(q) else
                   f"{chr(65 + q['answer'])}. {q['options'][q['answer']]}")
            cells.append(nbformat.v4.new_markdown_cell(
                f"**{q['text']}**\n\n{options}", metadata={"slideshow": {"slide_type": "subslide"}}))
            cells.append(nbformat.v4.new_markdown_cell(
                f"*{phrase('answer', lang)}* **{key}**. {q['explain']}",
                metadata={"slideshow": {"slide_type": "fragment"}}))
    nb.cells = cells
    return nb


def _source_chunks(cell, height) -> list[str]:
    """``cell``'s source cut, at blank lines where it can, into pieces that each fit
    ``height`` on their own (a long paragraph or a long function goes on below)."""
    pieces, current = [], []
    probe = cell.copy()
    if "outputs" in probe:
        probe.outputs = []
    for line in cell.source.split("\n"):
        probe.source = "\n".join(current + [line])
        if current and cell_height(probe) > height:
            cut = max((i for i, ln in enumerate(current) if not ln.strip()), default=None)
            if cut:  # at the last blank line, else here
                pieces.append("\n".join(current[:cut]))
                current = current[cut + 1:]
            else:
                pieces.append("\n".join(current))
                current = []
        current.append(line)
    pieces.append("\n".join(current))
    return [p for p in pieces if p.strip()]


def split_tall_cells(nb, height=SLIDE_HEIGHT):
    """A cell whose text alone is too tall for one slide goes on below, cut at blank
    lines; an executed code cell too tall for one slide (code, printed lines and a
    figure) is shown as its code, then its outputs on the next subslides, as many
    outputs to a subslide as fit."""
    import copy

    cells = []
    for cell in nb.cells:
        bare = copy.deepcopy(cell)
        if "outputs" in bare:
            bare.outputs = []
        if cell_height(bare) > height:
            *heads, last = _source_chunks(cell, height)
            for i, head in enumerate(heads):
                part = copy.deepcopy(bare)
                part.source = head
                if i:
                    part.metadata["slideshow"] = {"slide_type": "subslide"}
                if "id" in cell:
                    part.id = f"{cell.id}-part{i}"[-64:]
                cells.append(part)
            cell = copy.deepcopy(cell)
            cell.source = last
            cell.metadata["slideshow"] = {"slide_type": "subslide"}
        if "outputs" not in cell:
            cells.append(cell)
            continue
        if cell.cell_type != "code" or not cell.get("outputs") or cell_height(cell) <= height:
            cells.append(cell)
            continue
        code = copy.deepcopy(cell)
        code.outputs = []
        cells.append(code)
        group, parts = [], 0
        for output in cell.outputs + [None]:
            part = copy.deepcopy(cell)
            part.source, part.outputs = "", group + ([output] if output else [])
            if output is not None and (not group or cell_height(part) <= height):
                group.append(output)
                continue
            shown = copy.deepcopy(cell)
            shown.outputs = group
            parts += 1
            if "id" in cell:
                shown.id = f"{cell.id}-out{parts}"[-64:]
            shown.metadata["tags"] = [*cell.metadata.get("tags", []), OUTPUT_ONLY]
            shown.metadata["slideshow"] = {"slide_type": "subslide"}
            cells.append(shown)
            group = [output]
    nb.cells = cells
    return nb


def fit_slides(nb, height=SLIDE_HEIGHT):
    """Start a subslide wherever the next cell would push the slide past ``height``:
    each heading still starts its slide, and a long section continues downward."""
    used = 0
    for cell in nb.cells:
        show = cell.metadata.setdefault("slideshow", {})
        h = cell_height(cell)
        if show.get("slide_type") in ("slide", "subslide"):
            used = h
        elif used and used + h > height:
            show["slide_type"] = "subslide"
            used = h
        else:
            used += h
    return nb


def write_slides(notebooks, out) -> list[Path]:
    """Write ``<name>.slides.html`` for each notebook into ``out``, with reveal.js
    beside them; returns the slide files."""
    import nbformat
    from nbconvert import SlidesExporter

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    local = out / "reveal.js"
    if not (local / "dist" / "reveal.js").exists():
        source = reveal_js()
        for part in ("dist", "plugin"):
            shutil.copytree(source / part, local / part, dirs_exist_ok=True)
    from nbconvert.preprocessors import TagRemovePreprocessor

    exporter = SlidesExporter(template_name="offline_slides",
                              extra_template_basedirs=[str(TEMPLATES)],
                              reveal_url_prefix="reveal.js", reveal_theme="white")
    exporter.register_preprocessor(TagRemovePreprocessor(remove_input_tags={OUTPUT_ONLY}),
                                   enabled=True)
    written = []
    for path in map(Path, notebooks):
        nb = fit_slides(split_tall_cells(quiz_slides(
            without_test_marks(nbformat.read(path, as_version=4)))))
        exporter.language_code = (nb.metadata.get("language") or "en").split("-")[0]  # ISO 639-1
        body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": path.stem}})
        target = out / f"{path.stem}.slides.html"
        target.write_text(body, encoding="utf-8")
        written.append(target)
    return written
