"""The package's layers (issue #45), read from the source (imports inside functions
count): ``settings`` and ``cache`` < ``data`` < ``models`` < ``lessons`` < ``grader`` < ``course`` <
``cli``. The lessons never import the grader, the data imports no model, nothing but
``__main__`` imports the command line, no import circle among helpers' modules, and
no module is over 400 lines.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HELPERS = ROOT / "helpers"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(HELPERS.rglob("*.py"))}


def imports(path: Path, known) -> set[str]:
    """The helpers modules ``path`` imports anywhere in it (``from helpers.x import y``
    counts y when y is a module)."""
    name, out = module_name(path), set()
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[:len(package.split(".")) - node.level + 1]
                                + ([base] if base else []))
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base
                       for a in node.names]
        else:
            continue
        out.update(t for t in targets if t.split(".")[0] == "helpers")
    return out - {name}


def graph() -> dict[str, set[str]]:
    known = modules()
    return {name: imports(path, known) for name, path in known.items()}


def layer(name: str) -> str:
    parts = name.split(".")
    return parts[1] if len(parts) > 1 else ""


def violations(edges) -> list[str]:
    problems = []
    for source, targets in edges.items():
        for target in targets:
            if layer(source) == "lessons" and layer(target) == "grader":
                problems.append(f"{source} imports the grader ({target})")
            if layer(source) == "data" and layer(target) in ("models", "lessons", "grader",
                                                             "course", "cli"):
                problems.append(f"{source} (data) imports {target}")
            if layer(source) in ("settings", "cache") and layer(target) not in ("settings",
                                                                                 "cache"):
                problems.append(f"{source} (the bottom) imports {target}")
            if layer(target) == "cli" and layer(source) != "cli" and source != "helpers.__main__":
                problems.append(f"{source} imports the command line ({target})")
    return problems


def cycles(edges) -> list[list[str]]:
    """Each import circle once (Tarjan's strongly connected components over 1 member);
    a module importing its own package does not count (Python runs the package first)."""
    def own(a, b):
        return a.startswith(b + ".")
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if own(v, w) or w not in edges:
                continue
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))
    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def test_the_layers_hold():
    assert violations(graph()) == []


def test_no_import_circle():
    assert cycles(graph()) == []


def test_the_packages_exist_and_hold_the_lessons():
    names = set(modules())
    assert {"helpers.data.images", "helpers.models.backbones", "helpers.lessons.train",
            "helpers.grader.grade", "helpers.course.runner", "helpers.cli"} <= names
    assert not [n for n in names if n.count(".") == 1 and layer(n) not in
                ("settings", "cache", "__main__", "data", "models", "lessons", "grader", "course",
                 "cli")]


def test_no_module_over_400_lines():
    long = {p.relative_to(ROOT).as_posix(): n for p in HELPERS.rglob("*.py")
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > 400}
    assert long == {}


def test_the_checks_catch_a_broken_layering():
    """The checks themselves: a planted circle and each forbidden import are found."""
    edges = {"helpers.lessons.a": {"helpers.grader.b"}, "helpers.grader.b": {"helpers.lessons.a"},
             "helpers.data.c": {"helpers.models.d", "helpers.cli"}, "helpers.models.d": set(),
             "helpers.cli": set(), "helpers.__main__": {"helpers.cli"}}
    assert cycles(edges) == [["helpers.grader.b", "helpers.lessons.a"]]
    assert sorted(violations(edges)) == [
        "helpers.data.c (data) imports helpers.cli", "helpers.data.c (data) imports helpers.models.d",
        "helpers.data.c imports the command line (helpers.cli)",
        "helpers.lessons.a imports the grader (helpers.grader.b)"]
    assert cycles({"helpers.lessons.a": {"helpers.lessons"}, "helpers.lessons": {"helpers.lessons.a"}}) == []
