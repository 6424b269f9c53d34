"""Slides for instructors: ``python -m helpers slides NOTEBOOK... --out DIR``.

Each notebook becomes a reveal.js deck (nbconvert's ``SlidesExporter``), one
slide per section: cells carry ``slideshow`` metadata (a heading starts a slide,
a long code cell is a fragment). reveal.js itself is copied from the
``sphinx-revealjs`` package, installed with the course, into ``DIR/reveal.js``,
so the decks open offline straight from the disk: no CDN, no server.
"""

from __future__ import annotations

import shutil
from pathlib import Path

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
    exporter = SlidesExporter(template_name="offline_slides",
                              extra_template_basedirs=[str(TEMPLATES)],
                              reveal_url_prefix="reveal.js", reveal_theme="white")
    written = []
    for path in map(Path, notebooks):
        nb = nbformat.read(path, as_version=4)
        body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": path.stem}})
        target = out / f"{path.stem}.slides.html"
        target.write_text(body, encoding="utf-8")
        written.append(target)
    return written
