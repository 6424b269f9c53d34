"""The package's layers (issue #45), read from the source (imports inside functions
count): ``settings``, ``cache`` and ``console`` < ``data`` < ``models`` < ``lessons`` <
``grader`` < ``course`` < ``cli``. The lessons never import the grader, the data imports
no model, the bottom imports only the bottom, nothing but ``__main__`` imports the
command line, no import circle among helpers' modules, and no module is over 400 lines.
``cli/`` only parses: its handlers are the layers' ``commands`` modules, and each
parsed option is a parameter of its handler.
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


BOTTOM = ("settings", "cache", "console")     # console: how a command says an error


def violations(edges) -> list[str]:
    problems = []
    for source, targets in edges.items():
        for target in targets:
            if layer(source) == "lessons" and layer(target) == "grader":
                problems.append(f"{source} imports the grader ({target})")
            if layer(source) == "data" and layer(target) in ("models", "lessons", "grader",
                                                             "course", "cli"):
                problems.append(f"{source} (data) imports {target}")
            if layer(source) in BOTTOM and layer(target) not in BOTTOM:
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
                ("settings", "cache", "console", "__main__", "data", "models", "lessons",
                 "grader", "course", "cli")]


def test_no_module_over_400_lines():
    long = {p.relative_to(ROOT).as_posix(): n for p in HELPERS.rglob("*.py")
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > 400}
    assert long == {}


def test_the_checks_catch_a_broken_layering():
    """The checks themselves: a planted circle and each forbidden import are found."""
    edges = {"helpers.lessons.a": {"helpers.grader.b"}, "helpers.grader.b": {"helpers.lessons.a"},
             "helpers.data.c": {"helpers.models.d", "helpers.cli"}, "helpers.models.d": set(),
             "helpers.cli": set(), "helpers.__main__": {"helpers.cli"},
             "helpers.console": {"helpers.data.c"}}
    assert cycles(edges) == [["helpers.grader.b", "helpers.lessons.a"]]
    assert sorted(violations(edges)) == [
        "helpers.console (the bottom) imports helpers.data.c",
        "helpers.data.c (data) imports helpers.cli", "helpers.data.c (data) imports helpers.models.d",
        "helpers.data.c imports the command line (helpers.cli)",
        "helpers.lessons.a imports the grader (helpers.grader.b)"]
    assert cycles({"helpers.lessons.a": {"helpers.lessons"}, "helpers.lessons": {"helpers.lessons.a"}}) == []


# ------------------------------------------------------------- cli/ only parses

CLI_STDLIB = {"__future__", "argparse", "importlib"}


def cli_problems(path: Path, source: str) -> list[str]:
    """What in a module of ``helpers/cli/`` is more than parsing: a function other than
    ``build_parser``, ``main`` and the ``add_*`` parser builders, a lambda, an import
    other than argparse/importlib and the layers' ``commands`` modules, a handler
    (``func=``) that is not ``commands.cmd_*``."""
    where, problems = path.name, []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            if node.name not in ("build_parser", "main") and not node.name.startswith("add_"):
                problems.append(f"{where}: defines {node.name}()")
        elif isinstance(node, ast.Lambda):
            problems.append(f"{where}: a lambda (line {node.lineno})")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name not in CLI_STDLIB and not (
                        alias.name.startswith("helpers.") and alias.name.endswith(".commands")):
                    problems.append(f"{where}: imports {alias.name}")
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if module in CLI_STDLIB:
                continue
            if not (module.startswith("helpers.") and [a.name for a in node.names] == ["commands"]
                    and module.count(".") == 1):
                problems.append(f"{where}: imports from {module}")
        elif isinstance(node, ast.keyword) and node.arg == "func":
            value = node.value
            if not (isinstance(value, ast.Attribute) and isinstance(value.value, ast.Name)
                    and value.value.id == "commands" and value.attr.startswith("cmd_")):
                problems.append(f"{where}: func= is not a commands.cmd_* handler "
                                f"(line {node.lineno})")
    return problems


def test_the_command_line_only_parses():
    found = {p.relative_to(ROOT).as_posix(): cli_problems(p, p.read_text(encoding="utf-8"))
             for p in sorted((HELPERS / "cli").glob("*.py"))}
    assert "helpers/cli/__init__.py" in found and len(found) >= 2
    assert {k: v for k, v in found.items() if v} == {}


def test_the_cli_check_catches_a_handler():
    """Shaped like cli/ before issue #45: handlers, a lambda, the error printer."""
    old = """
import json
from helpers.cli.common import err
from helpers.lessons.translate import LANGS

def cmd_predict(args):
    err("no")
    return 2

def _add_predict(sub):
    p = sub.add_parser("predict")
    p.set_defaults(func=cmd_predict)
    sub.add_parser("save").set_defaults(func=lambda args: 0)
"""
    assert cli_problems(Path("old.py"), old) == [
        "old.py: imports json", "old.py: imports from helpers.cli.common",
        "old.py: imports from helpers.lessons.translate", "old.py: defines cmd_predict()",
        "old.py: defines _add_predict()", "old.py: func= is not a commands.cmd_* handler (line 12)",
        "old.py: func= is not a commands.cmd_* handler (line 13)", "old.py: a lambda (line 13)"]
    assert cli_problems(Path("new.py"), "from helpers.data import commands\n"
                        "def add_data(sub):\n"
                        "    sub.add_parser('data').set_defaults(func=commands.cmd_data_check)\n"
                        ) == []


def _blank(value):
    """An empty list of names (argparse's ``nargs="*"``) means what None or () means."""
    return None if isinstance(value, (list, tuple)) and not value else value


def test_every_option_is_a_parameter_of_its_handler():
    """Each command's parsed options (less argparse's bookkeeping) are exactly its
    handler's keyword parameters, and where the handler has a default it is the parser's:
    ``cmd_x(**options)`` from Python means what the command line means."""
    import inspect

    from helpers.cli import BOOKKEEPING, COMMANDS, build_parser

    parser = build_parser()
    chosen = {"predict": ["predict", "x.jpg"], "data": ["data", "check", "f"],
              "hosted": ["hosted"], "dream": ["dream", "tabby", "--out", "o.png"],
              "attack": ["attack", "x.jpg", "--target", "tabby", "--out", "o.png"],
              "grade": ["grade", "m.keras", "--test-dir", "t"],
              "gradebook": ["gradebook", "merge", "p.part.json", "--out", "g.csv"],
              "train": ["train", "d", "--out", "m.keras"],
              "evaluate": ["evaluate", "m.keras", "--test-dir", "t"], "course": ["course"],
              "slides": ["slides", "n.ipynb"], "quiz": ["quiz"], "translate": ["translate"],
              "save": ["save"]}
    argvs = [chosen[c] for _, c in COMMANDS] + [["data", "fetch"], ["data", "pack", "d"]]
    handlers = set()
    for argv in argvs:
        args = parser.parse_args(argv)
        options = {k: v for k, v in vars(args).items() if k not in BOOKKEEPING}
        params = inspect.signature(args.func).parameters
        assert set(options) == set(params), argv
        assert all(p.kind is p.KEYWORD_ONLY for p in params.values()), argv
        assert args.func.__module__.rsplit(".", 1)[-1] == "commands", argv
        assert args.func.__name__.startswith("cmd_"), argv
        for name, value in options.items():
            default = params[name].default
            if default is not inspect.Parameter.empty:
                assert _blank(value) == _blank(default), (argv, name, value, default)
        handlers.add(args.func)
    assert len(handlers) == len(argvs)  # 16 commands, 16 handlers
