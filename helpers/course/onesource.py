"""One source for the lessons' code: ``python -m helpers save`` (d2l's ``#@save``).

A notebook shows the code it teaches in its own cells. A cell whose first line is
``#@save helpers.<module>`` holds definitions that the rest of the course reuses;
this command writes each of them into that module, as d2l builds its library from
its book: a top-level function, class or constant (an upper-case name) of the same
name is replaced where it stands, a new one is appended, and an import the cell
makes that the module lacks goes after the module's last import. So the notebook
is the one place to edit; ``tests/test_one_source.py`` fails while a module is out
of date. ``--check`` writes nothing and exits 1 when something would change.
"""

from __future__ import annotations

import argparse
import ast
import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MARK = "#@save"


def notebooks(root=ROOT) -> list[Path]:
    return sorted(Path(root).glob("notebooks/*.ipynb")) + sorted(Path(root).glob("lab/*.ipynb"))


def saved_cells(paths) -> list[tuple[Path, int, str, str]]:
    """(notebook, cell index, module, source) of every ``#@save`` code cell."""
    out = []
    for path in paths:
        for i, cell in enumerate(json.loads(Path(path).read_text(encoding="utf-8"))["cells"]):
            source = "".join(cell["source"])
            first = source.split("\n", 1)[0].strip()
            if cell["cell_type"] == "code" and first.startswith(MARK):
                out.append((Path(path), i, first[len(MARK):].strip(), source))
    return out


def module_file(module: str, root=ROOT) -> Path:
    """The file of ``helpers.x.y`` (a package's ``__init__.py``), without importing it."""
    if not re.fullmatch(r"helpers(\.\w+)+", module):
        raise ValueError(f"'{MARK} {module}' names no module of helpers (write e.g. "
                         f"'{MARK} helpers.lessons.train')")
    base = Path(root).joinpath(*module.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.exists():
            return path
    raise ValueError(f"'{MARK} {module}': there is no {base.with_suffix('.py')}")


def _is_constant(node) -> bool:
    return (isinstance(node, ast.Assign) and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name)
            and re.fullmatch(r"_?[A-Z][A-Z0-9_]*", node.targets[0].id) is not None)


def spans(source: str) -> dict[str, tuple[int, int]]:
    """Top-level definitions: name -> (first line, last line), 0-based, decorators in."""
    out = {}
    for node in ast.parse(source).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            first = min([node.lineno] + [d.lineno for d in node.decorator_list])
            out[node.name] = (first - 1, node.end_lineno - 1)
        elif _is_constant(node):
            out[node.targets[0].id] = (node.lineno - 1, node.end_lineno - 1)
    return out


def _imports(source: str) -> tuple[list[str], int]:
    """The top-level import statements' text, and the line after the last one (0-based;
    after the docstring when there is none)."""
    lines, tree = source.splitlines(), ast.parse(source)
    found, after = [], 0
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            found.append("\n".join(lines[node.lineno - 1:node.end_lineno]))
            after = node.end_lineno
        elif not found and isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            after = node.end_lineno
    return found, after


def _bound(source: str) -> set[str]:
    """The names ``source``'s top level binds: definitions, assignments, imports."""
    names = set()
    for node in ast.parse(source).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(t.id for t in targets if isinstance(t, ast.Name))
    return names


def merge(module_source: str, cell_source: str) -> str:
    """``module_source`` with the cell's definitions and imports written in (an import
    whose names the module already has, its own definitions included, is left out)."""
    cell_lines = [line.rstrip() for line in cell_source.splitlines()]
    lines = module_source.splitlines()
    have, after = _imports(module_source)
    bound = _bound(module_source)
    missing = [text for text in _imports(cell_source)[0]
               if text not in have and not _bound(text) <= bound]
    if missing:
        lines[after:after] = [line for text in missing for line in text.splitlines()]
    for name, (start, end) in spans(cell_source).items():
        text = cell_lines[start:end + 1]
        current = spans("\n".join(lines) + "\n")
        if name in current:
            first, last = current[name]
            lines[first:last + 1] = text
        else:
            while start > 0 and cell_lines[start - 1].startswith("#"):
                start -= 1  # the comment above a new definition comes with it
            while lines and not lines[-1].strip():
                lines.pop()
            lines += ["", ""] + cell_lines[start:end + 1]
    return "\n".join(lines) + "\n"


def save(root=ROOT, write: bool = True) -> list[Path]:
    """Write every ``#@save`` cell into its module; the modules that changed."""
    pending: dict[Path, str] = {}
    for _, _, module, source in saved_cells(notebooks(root)):
        path = module_file(module, root)
        current = pending.get(path) or path.read_text(encoding="utf-8")
        pending[path] = merge(current, source)
    changed = [p for p, text in pending.items() if text != p.read_text(encoding="utf-8")]
    if write:
        for path in changed:
            path.write_text(pending[path], encoding="utf-8")
    return changed


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m helpers save",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 if a module is out of date")
    args = parser.parse_args(argv)
    try:
        changed = save(write=not args.check)
    except (ValueError, SyntaxError) as e:
        print(f"error: {e}")
        return 2
    for path in changed:
        print(f"{'out of date' if args.check else 'wrote'}: {path.relative_to(ROOT)}")
    if not changed:
        print("every #@save cell is in its module")
    return 1 if args.check and changed else 0
