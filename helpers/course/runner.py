"""Run the course's notebooks headless: ``python -m helpers course``.

Each notebook (``notebooks/`` in order, then ``lab/``) is executed into the
output folder as an executed ``.ipynb`` and an ``.html`` page. A notebook that
stops because its data is missing is reported as such, with the fix, rather
than as a crash; the others still run. The summary flags any notebook whose
outputs show a warning or a traceback: a student should never have to read one.

``python -m helpers course --store-checked`` refreshes, in place, the outputs
of the cells that nbval compares (``# NBVAL_CHECK_OUTPUT``) and strips every
other output: how the notebooks are stored in the repository.
"""

from __future__ import annotations

import copy
import os
import re
import time
from pathlib import Path

import nbformat

CHECK_MARK = "NBVAL_CHECK_OUTPUT"
SKIP_TAG = "nbval-skip"
MISSING_DATA_ERRORS = ("DatasetUnavailableError", "DomainUnavailableError", "BackboneUnavailableError")
# what counts as noise in a student's view: Python warnings, absl/TensorFlow log lines
NOISE = re.compile(r"\w*Warning\b|^WARNING\b|^[WE]\d{4} |Traceback \(most recent", re.M)


def course_notebooks(root=".", lang=None) -> list[Path]:
    """The notebooks in course order; ``lang``: the translated ones, built by
    ``python -m helpers translate`` into ``translations/<lang>/`` (issue #47)."""
    root = Path(root) / "translations" / lang if lang else Path(root)
    found = sorted((root / "notebooks").glob("[0-9]*.ipynb"))
    found += sorted((root / "lab").glob("*.ipynb"))
    return found


def execute(path, timeout=1800, env=None, cwd=None):
    """Execute a notebook in its own folder (or ``cwd``); returns (notebook, error or None)."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError
    from traitlets.config import Config

    nb = nbformat.read(path, as_version=4)
    # Cells tagged nbval-skip (the lab starter's TODO cells) are not run here either.
    skipped = {}
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and SKIP_TAG in cell.metadata.get("tags", []):
            skipped[i] = cell.source
            cell.source = "pass  # skipped: a TODO cell for students"
    # Curve keys provisioned for the kernel (where its kernelspec supports them, as
    # ipykernel's does): its loopback sockets are encrypted, and the terminal shows no
    # "running over TCP without encryption" warning.
    encrypted = Config({"KernelManager": {"transport_encryption": "auto"}})
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", config=encrypted,
                            resources={"metadata": {"path": str(cwd or Path(path).parent)}})
    try:
        # the kernel gets its own environment; this process's stays as it is
        client.execute(env={**os.environ, **(env or {})})
        error = None
    except CellExecutionError as e:
        error = e
    collapse_progress_bars(nb)
    for i, source in skipped.items():
        nb.cells[i].source = source
        nb.cells[i].outputs = []
        nb.cells[i].execution_count = None
    return nb, error


WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def collapse_progress_bars(nb) -> None:
    """Replace the tqdm widgets in an executed notebook by what they ended on, in place.

    In JupyterLab a progress bar is a live widget; a static page cannot draw one
    offline. A bar that hid itself when done (``leave=False``) is dropped, as it
    vanishes in JupyterLab; any other becomes its final line of text.
    """
    import html

    widgets = nb.metadata.pop("widgets", {})
    state = widgets.get("application/vnd.jupyter.widget-state+json", {}).get("state", {})

    def model(ref):
        return state.get(str(ref).replace("IPY_MODEL_", ""), {}).get("state", {})

    for cell in nb.cells:
        outputs = []
        for out in cell.get("outputs", []):
            view = out.get("data", {}).get(WIDGET_VIEW) if out.get("output_type") == \
                "display_data" else None
            if view is None:
                outputs.append(out)
                continue
            box = model(view.get("model_id"))
            if model(box.get("layout")).get("visibility") == "hidden":
                continue
            parts = [model(c).get("value") for c in box.get("children", [])]
            text = "".join(p for p in parts if isinstance(p, str))
            line = html.unescape(text).replace("\u2007", " ").strip() or \
                "".join(out["data"].get("text/plain", ""))
            outputs.append(nbformat.v4.new_output("stream", name="stdout", text=line + "\n"))
        cell["outputs"] = outputs


def noise(nb) -> list[str]:
    """Warnings and tracebacks shown in a notebook's outputs, as ``"cell N: line"``."""
    found = []
    for n, cell in enumerate(c for c in nb.cells if c.cell_type == "code"):
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                found.append(f"cell {n + 1}: {out.get('ename')}: {out.get('evalue', '')[:120]}")
                continue
            text = out.get("text", "") if out.get("output_type") == "stream" else \
                out.get("data", {}).get("text/plain", "")
            match = NOISE.search(text if isinstance(text, str) else "".join(text))
            if match:
                line = text[match.start():].splitlines()[0] if isinstance(text, str) else ""
                found.append(f"cell {n + 1}: {line[:160]}")
    return found


ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")   # terminal colour codes in tracebacks


LEFT_OUT = "left out (missing data): "


def left_out_parts(nb) -> list[str]:
    """What a notebook that ran says it left out: lines starting with
    :data:`LEFT_OUT` in its outputs (notebook 05 prints one per missing domain)."""
    found = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            text = out.get("text", "") if out.get("output_type") == "stream" else ""
            for line in (text if isinstance(text, str) else "".join(text)).splitlines():
                if line.startswith(LEFT_OUT):
                    found.append(line[len(LEFT_OUT):].strip()[:300])
    return found


def _summary(error) -> str:
    text = ANSI.sub("", str(error))
    for name in MISSING_DATA_ERRORS:
        if name in text:
            lines = [ln for ln in text.splitlines() if name in ln]
            return "missing data: " + (lines[-1] if lines else name)
    last = [ln for ln in text.splitlines() if ln.strip()]
    return "failed: " + (last[-1] if last else "error")


def without_test_marks(nb):
    """A copy of ``nb`` for reading (the HTML pages, the slides): the line that tells
    nbval to compare a cell's output (``# NBVAL_CHECK_OUTPUT``) is for the tests,
    not the student."""
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        if cell.cell_type == "code" and CHECK_MARK in cell.source:
            cell.source = "\n".join(line for line in cell.source.split("\n")
                                    if line.strip() != f"# {CHECK_MARK}")
    return nb


# folders the kernel must find from the notebook's own folder, however deep
# (translations/<lang>/notebooks/): a relative one is taken from here
PATH_SETTINGS = ("TL_DATA_DIR", "TL_CACHE_DIR", "KERAS_HOME")


def run_course(out="output", notebooks=None, profile=None, backend=None, lang=None) -> int:
    """Execute every notebook (``lang``: the translated ones) into ``out`` on the
    Keras ``backend`` (default: ``KERAS_BACKEND``, else TensorFlow); print a report;
    return the exit status."""
    from nbconvert import HTMLExporter

    out = Path(out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    backend = backend or os.environ.get("KERAS_BACKEND") or "tensorflow"
    env = {"TL_OUTPUT_DIR": str(out), "KERAS_BACKEND": backend}
    env.update({name: str(Path(os.environ[name]).expanduser().resolve())
                for name in PATH_SETTINGS if os.environ.get(name, "").strip()})
    if lang:
        env["TL_LANG"] = lang
    if profile:
        env["TL_PROFILE"] = profile
    print(f"Keras backend: {backend}" + (f"; language: {lang}" if lang else ""), flush=True)
    results = []
    for path in notebooks or course_notebooks(lang=lang):
        path = Path(path)
        print(f"running {path} ...", flush=True)
        start = time.perf_counter()
        nb, error = execute(path, env=env)
        seconds = time.perf_counter() - start
        target = out / path.name
        nbformat.write(nb, target)
        code = (nb.metadata.get("language") or lang or "en").split("-")[0]   # ISO 639-1: zh
        html, _ = HTMLExporter(language_code=code).from_notebook_node(without_test_marks(nb))
        target.with_suffix(".html").write_text(html, encoding="utf-8")
        status = "ok" if error is None else _summary(error)
        todo = sum(1 for c in nb.cells if SKIP_TAG in c.metadata.get("tags", []))
        if todo and error is None:
            status = f"ok ({todo} TODO cells left for students)"
        left_out = left_out_parts(nb) if error is None else []
        if left_out:
            status = "ok, without " + "; ".join(left_out)
        shown = noise(nb) if error is None else []
        if shown:
            status = f"noisy: {len(shown)} warnings or tracebacks in the outputs"
        results.append((path, status, seconds))
        print(f"  {status} ({seconds:.0f} s) -> {target}", flush=True)
        for line in shown:
            print(f"    {line}")
    print(f"\nsummary (Keras backend: {backend}):")
    for path, status, seconds in results:
        print(f"  {path.name:40} {status} ({seconds:.0f} s)")
    missing = [r for r in results if r[1].startswith(("missing data", "ok, without"))]
    if missing:
        ran = profile or os.environ.get("TL_PROFILE") or "quick"
        advice = ("\nSome notebooks need data that is not here. Point TL_DATA_DIR at the "
                  "course's data folder (one <name>/ folder per dataset; `make course` uses "
                  "../shared/data when it exists), or fetch it once online: "
                  "`python -m helpers data fetch NAME`.")
        if ran == "full":
            advice += " The quick profile needs only the course's data: TL_PROFILE=quick make course"
        print(advice)
    return 0 if all(r[1].startswith("ok") for r in results) else 1


def store_checked(path, env=None) -> int:
    """Execute ``path`` and keep only the outputs of NBVAL_CHECK_OUTPUT cells, in place."""

    nb, error = execute(path, env=env)
    if error is not None:
        raise RuntimeError(f"{path}: {_summary(error)}")
    kept = 0
    for count, cell in enumerate(c for c in nb.cells if c.cell_type == "code"):
        cell.execution_count = None
        cell.metadata.pop("execution", None)  # timestamps: noise in every diff
        if CHECK_MARK in cell.source:
            kept += 1
            cell.outputs = [o for o in cell.outputs if o.get("output_type") == "stream"
                            and o.get("name") == "stdout"]
            cell.execution_count = count + 1  # nbval skips checked cells that never ran
        else:
            cell.outputs = []
    nbformat.write(nb, path)
    return kept
