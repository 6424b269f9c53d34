"""Move helpers/ into folders that show the architecture (issue #45, items 1 and 2).

    python tools/restructure.py            # do it, in the checkout it is run from
    python tools/restructure.py --dry-run  # say what it would move, touch nothing

Run from the repository root of a clean checkout (after merging whatever branches
add modules or ``#@save`` cells); running it twice changes nothing the second time.
It

1. ``git mv``s each module of ``MOVES`` (and the quizzes, manifests and slide templates)
   into ``helpers/data``, ``helpers/models``, ``helpers/lessons``, ``helpers/grader``
   and ``helpers/course``, and writes their ``__init__.py``;
2. rewrites every ``from helpers import a, b`` into imports from the new packages
   (renaming the uses of a renamed module in that file or notebook), and every
   ``helpers.old`` / ``helpers/old.py`` mention into the new path, in helpers/,
   tests/, benchmarks/, conftest.py, the notebooks' and the lab's cells (the
   ``#@save helpers.X`` markers too), the Markdown docs, the Makefile and
   pyproject.toml, and in the translated texts (whose ``en:HASH`` of a markdown cell
   changed only by these paths is carried to the new hash);
3. makes the few edits a move needs (paths of files beside a module, the grader's
   digest), adds ``python -m helpers save`` (``helpers/course/onesource.py``) and
   ``tests/test_layering.py``, and drops the "edit both" banners.

A module that exists in ``helpers/`` but is in no list below stops the script before
it touches anything: add it to ``MOVES`` first.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import re
import subprocess
import sys
import tokenize
from pathlib import Path

ROOT = Path.cwd()
HERE = Path(__file__).resolve()

# old module (under helpers.) -> new module (under helpers.); a new last name is a rename
MOVES = {
    # data: where photos come from, and how they become arrays
    "sources": "data.sources", "archives": "data.archives", "folders": "data.folders",
    "images": "data.images", "pipeline": "data.pipeline", "arrays": "data.arrays",
    "packs": "data.packs",
    # models: pretrained networks, their weights, what they output
    "backbones": "models.backbones", "lite": "models.lite", "preprocess": "models.preprocess",
    "torch_pickle": "models.torch_pickle", "features": "models.features",
    "labels": "models.labels", "jaxconv": "models.jaxconv",
    # lessons: every #@save target and what the notebooks show
    "lessons": "lessons", "train": "lessons.train", "gradients": "lessons.gradients",
    "natural": "lessons.natural", "optimize": "lessons.optimize", "gradcam": "lessons.gradcam",
    "transfer": "lessons.three_ways", "metrics": "lessons.metrics", "plots": "lessons.plots",
    "quiz": "lessons.quiz", "selfcheck": "lessons.selfcheck", "translate": "lessons.translate",
    "phrases": "lessons.phrases", "hosted": "lessons.hosted", "recipe": "lessons.own_photos",
    "lab": "lessons.lab",
    # grader: the lab's grader
    "submission": "grader.inspection", "testphotos": "grader.testphotos",
    "gradeworker": "grader.sandbox", "grade": "grader.grade", "gradesheet": "grader.gradesheet",
    "gradebook": "grader.gradebook", "shards": "grader.shards",
    # course: the course runner and the slides
    "cli.course": "course.runner", "cli.slides": "course.slides",
}
FOLDERS = {"quizzes": "lessons/quizzes", "manifests": "data/manifests",
           "cli/templates": "course/templates"}
STAYS = {"__init__", "__main__", "settings"}
PACKAGES = ["data", "models", "lessons", "grader", "course"]
ORDER = ["", "data", "models", "lessons", "grader", "course", "cli"]

PACKAGE_DOCS = {
    "data": '''"""Where photos come from and how they become arrays.

* ``sources``, ``archives``, ``packs``: the datasets (checksums, mirrors, manifests),
  safe extraction, the small packs that ship with the course;
* ``folders``: checking folders of photos without touching them, labels, splits;
* ``images``, ``pipeline``: the one decode-and-resize path, the tf.data pipeline;
* ``arrays``: notebook 05's four domains as arrays (IDX, JSON, folders).

Nothing here imports a model (``tests/test_layering.py``).
"""
''',
    "models": '''"""Pretrained networks in Keras' own layers and what they output.

* ``preprocess``, ``lite``, ``torch_pickle``, ``backbones``: EfficientNet-Lite0/1/2
  from their PyTorch weights (read without PyTorch), ``keras.applications``;
* ``jaxconv``: a depthwise convolution XLA's CPU runs fast (Keras on JAX);
* ``features``: running a network over photos, the feature cache;
* ``labels``: the ImageNet class names.
"""
''',
    "grader": '''"""The lab's grader (``python -m helpers grade``, ``gradebook merge``).

* ``inspection``: a handed-in ``.keras`` file checked before anything in it is built;
* ``testphotos``: the hidden photos, decoded once, memory-mapped, shuffled per model;
* ``sandbox``: the isolated process a submission runs in;
* ``gradebook``, ``gradesheet``, ``grade``: a class, the pass rule and the report,
  one submission;
* ``shards``: a class graded on many machines, the parts merged.

The lessons never import the grader (``tests/test_layering.py``).
"""
''',
    "course": '''"""Building the course: ``runner`` (``python -m helpers course``: every notebook
headless), ``slides`` (``python -m helpers slides``: reveal.js decks, offline) and
``onesource`` (``python -m helpers save``: the notebooks' ``#@save`` cells written
into ``helpers.lessons`` and the other modules they name).
"""
''',
}
LESSONS_DOC = '''"""The lessons' code: what the notebooks teach, in the modules of this package.

Every ``#@save helpers.<module>`` cell of a notebook is written into its module by
``python -m helpers save`` (``tests/test_one_source.py`` checks it is current):
``train`` (01, 02), ``gradients``, ``optimize``, ``natural`` (03, 04),
``three_ways``, ``gradcam`` (05); beside them ``metrics``, ``plots``, the self-checks
(``quiz``, ``selfcheck``, ``quizzes/``), ``own_photos`` (``python -m helpers train``),
the translations (``translate``, ``phrases``) and the Colab setup (``hosted``).

This file holds the setups that several notebooks share, one call each, so they
cannot drift apart: the profile, the cats-and-dogs photos with their split, and an
ImageNet classifier with its target classes.
"""'''
TOP_DOC = '''"""Helpers for the transfer-learning course (see README.md).

The packages, from the bottom up (``tests/test_layering.py`` keeps the order):

* ``settings``: every ``TL_*`` environment variable, the cache and output paths;
* ``data``: datasets, folders of photos, the decode path, the tf.data pipeline,
  notebook 05's domains;
* ``models``: pretrained networks in Keras' own layers, features, ImageNet labels;
* ``lessons``: what the notebooks teach (their ``#@save`` cells), metrics, plots,
  self-checks, your own photos;
* ``grader``: the lab's grader;
* ``course``: the course runner, the slides, ``python -m helpers save``;
* ``cli``: ``python -m helpers``.
"""'''


def sh(*args):
    return subprocess.run(args, cwd=ROOT, check=True, capture_output=True, text=True).stdout


def new_path(module: str) -> str:
    """helpers/<path> of a new module name (``lessons`` is a package)."""
    return f"helpers/{module.replace('.', '/')}" + ("/__init__.py" if module in PACKAGES else ".py")


def old_path(module: str) -> str:
    return f"helpers/{module.replace('.', '/')}.py"


# ---------------------------------------------------------------------- 1. the moves

def check_known():
    unknown = [p.stem for p in (ROOT / "helpers").glob("*.py")
               if p.stem not in STAYS and p.stem not in MOVES]
    unknown += [f"cli.{p.stem}" for p in (ROOT / "helpers" / "cli").glob("*.py")
                if f"cli.{p.stem}" not in MOVES and p.stem not in {"__init__", "common", "data",
                                                                   "grading", "optimize", "own",
                                                                   "translating"}]
    if unknown:
        sys.exit(f"restructure: helpers has modules that MOVES does not place: {unknown}")


def move(dry_run: bool) -> list[tuple[str, str]]:
    moved = []
    for old, new in MOVES.items():
        src, dst = ROOT / old_path(old), ROOT / new_path(new)
        if src.exists() and not dst.exists():
            moved.append((old_path(old), new_path(new)))
    for old, new in FOLDERS.items():
        if (ROOT / "helpers" / old).is_dir() and not (ROOT / "helpers" / new).exists():
            moved.append((f"helpers/{old}", f"helpers/{new}"))
    for src, dst in moved:
        print(f"git mv {src} {dst}")
        if not dry_run:
            (ROOT / dst).parent.mkdir(parents=True, exist_ok=True)
            sh("git", "mv", src, dst)
    if not dry_run:
        for package, doc in PACKAGE_DOCS.items():
            init = ROOT / "helpers" / package / "__init__.py"
            if not init.exists():
                init.parent.mkdir(parents=True, exist_ok=True)
                init.write_text(doc, encoding="utf-8")
                sh("git", "add", str(init.relative_to(ROOT)))
    return moved


# ---------------------------------------------------------------------- 2. rewriting

_OLD = sorted(MOVES, key=len, reverse=True)
_DOTTED = re.compile(r"(?<![\w.])helpers\.(" + "|".join(re.escape(o) for o in _OLD) + r")(?![\w])")
_PATHS = re.compile(r"(?<![\w/])helpers/(" + "|".join(re.escape(o.replace(".", "/")) for o in _OLD)
                    + r")\.py\b")
_FOLDERS = re.compile(r"(?<![\w/])helpers/(" + "|".join(re.escape(o) for o in FOLDERS) + r")(?![\w])")


def rewrite_mentions(text: str) -> str:
    """``helpers.old`` -> ``helpers.new`` and ``helpers/old.py`` -> ``helpers/new.py``."""
    text = _DOTTED.sub(lambda m: "helpers." + MOVES[m.group(1)], text)
    text = _PATHS.sub(lambda m: new_path(MOVES[m.group(1).replace("/", ".")]), text)
    return _FOLDERS.sub(lambda m: "helpers/" + FOLDERS[m.group(1)], text)


_FROM = re.compile(r"^([ \t]*)from (helpers(?:\.cli)?) import (\([^)]*\)|[^\n#]*?)"
                   r"([ \t]*#[^\n]*)?$", re.M)


def _parenthesised(head: str, items: list[str], width: int = 99) -> str:
    """``head(a, b,`` wrapped under the parenthesis at ``width`` columns."""
    lines, current = [], head + "("
    pad = " " * len(current)
    for i, item in enumerate(items):
        piece = item + (", " if i < len(items) - 1 else ")")
        if len(current) + len(piece.rstrip()) > width and current != head + "(":
            lines.append(current.rstrip())
            current = pad
        current += piece
    lines.append(current)
    return "\n".join(lines)


def _wrap(head: str, names: list[str], indent: str, width: int = 99) -> str:
    line = f"{indent}{head}{', '.join(names)}"
    return line if len(line) <= width else _parenthesised(indent + head, names, width)


def rewrite_from_imports(text: str, renamed: set, keep=frozenset()) -> str:
    """``from helpers import a, b`` (or ``from helpers.cli import course``) -> one import
    per package; the renamed modules it imports by name are added to ``renamed``."""

    def one(m):
        indent, base, body, comment = m.group(1), m.group(2), m.group(3), m.group(4) or ""
        body = re.sub(r"#[^\n]*", "", body).strip("() \t\n")
        names = [n.strip() for n in body.replace("\n", " ").split(",") if n.strip()]
        groups: dict[str, list[str]] = {}
        for name in names:
            module, _, alias = name.partition(" as ")
            key = (f"cli.{module}" if base == "helpers.cli" else module).strip()
            if key in MOVES and MOVES[key] != key:
                package, _, leaf = MOVES[key].rpartition(".")
                if leaf != module.strip() and not alias:
                    if module.strip() in keep:
                        alias = module.strip()  # its new name is taken in this file
                    else:
                        renamed.add((module.strip(), leaf))
                groups.setdefault(package, []).append(leaf + (f" as {alias.strip()}" if alias else ""))
            else:
                groups.setdefault("cli" if base == "helpers.cli" else "", []).append(name)
        if list(groups) == (["cli"] if base == "helpers.cli" else [""]):
            return m.group(0)   # nothing moves
        lines = []
        for package in sorted(groups, key=ORDER.index):
            head = f"from helpers{'.' + package if package else ''} import "
            lines.append(_wrap(head, sorted(groups[package], key=str.lower), indent))
        lines[0] += comment
        return "\n".join(lines)

    return _FROM.sub(one, text)


def names_in(source: str) -> set:
    """The names ``source`` uses that are not attributes (``x`` in ``x.y``, not ``y``)."""
    masked = "\n".join("#" + line if line.lstrip().startswith(("%", "!")) else line
                       for line in source.splitlines())
    try:
        tokens = [t for t in tokenize.generate_tokens(io.StringIO(masked + "\n").readline)
                  if t.type not in (tokenize.NL, tokenize.NEWLINE, tokenize.COMMENT)]
    except (tokenize.TokenError, SyntaxError, IndentationError):
        return set()
    return {t.string for i, t in enumerate(tokens)
            if t.type == tokenize.NAME and (i == 0 or tokens[i - 1].string != ".")}


def clashes(renamed: set, sources) -> set:
    """The renamed modules whose new name is already used in ``sources``: those keep
    their old name there (``from helpers.lessons import own_photos as recipe``)."""
    used = set().union(*(names_in(s) for s in sources)) if sources else set()
    return {old for old, new in renamed if new in used}


def rename_uses(source: str, renamed: set) -> str:
    """Uses of a renamed module (``transfer.CUTS`` -> ``three_ways.CUTS``), by tokens:
    never inside strings or comments, never an attribute or a keyword argument."""
    if not renamed:
        return source
    mapping = dict(renamed)
    lines = source.splitlines(keepends=True)
    masked = "".join("#" + line if line.lstrip().startswith(("%", "!")) else line
                     for line in lines)
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(masked).readline))
    except (tokenize.TokenError, SyntaxError, IndentationError):
        return source
    edits = []
    significant = [t for t in tokens if t.type not in (tokenize.NL, tokenize.NEWLINE,
                                                       tokenize.COMMENT, tokenize.INDENT,
                                                       tokenize.DEDENT)]
    for i, tok in enumerate(significant):
        if tok.type != tokenize.NAME or tok.string not in mapping:
            continue
        before = significant[i - 1].string if i else ""
        after = significant[i + 1].string if i + 1 < len(significant) else ""
        if before in (".", "def", "class", "as", "import") or after == "=":
            continue
        edits.append((tok.start, tok.end, mapping[tok.string]))
    for (row, col), (_, end), new in sorted(edits, reverse=True):
        line = lines[row - 1]
        lines[row - 1] = line[:col] + new + line[end:]
    return "".join(lines)


def _renames_of(text: str) -> set:
    found: set = set()
    rewrite_from_imports(text, found)
    return found


_LONG_FROM = re.compile(r"^([ \t]*)(from helpers\.[\w.]+ import )\(([^)#]*)\)$", re.M)


def rewrap_long_imports(text: str, width: int = 99) -> str:
    """A parenthesised import that the longer module path pushed past ``width``, wrapped
    again (one that holds a comment is left as it is)."""
    def one(m):
        if max(len(line) for line in m.group(0).splitlines()) <= width:
            return m.group(0)
        names = [n.strip() for n in m.group(3).replace("\n", " ").split(",") if n.strip()]
        return _parenthesised(m.group(1) + m.group(2), names, width)
    return _LONG_FROM.sub(one, text)


def rewrite_python(text: str, where="") -> str:
    renamed: set = set()
    keep = clashes(_renames_of(text), [text])
    text = rewrite_from_imports(text, renamed, keep)
    text = rewrap_long_imports(rewrite_mentions(text))
    return rename_uses(text, renamed)


def cell_hash(text: str) -> str:
    return hashlib.sha256(text.strip().encode()).hexdigest()[:12]


def rewrite_notebook(path: Path, hashes: dict) -> bool:
    raw = path.read_text(encoding="utf-8")
    nb = json.loads(raw)
    renamed: set = set()
    code = ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]
    keep = clashes(set().union(*(_renames_of(c) for c in code)), code)
    sources = []
    for cell in nb["cells"]:
        text = "".join(cell["source"])
        if cell["cell_type"] == "code":
            text = rewrite_mentions(rewrite_from_imports(text, renamed, keep))
        sources.append(text)
    for cell, text in zip(nb["cells"], sources):
        before = "".join(cell["source"])
        if cell["cell_type"] == "code":
            text = rename_uses(text, renamed)
        else:
            text = rewrite_mentions(text)
            if text != before:
                hashes[cell_hash(before)] = cell_hash(text)
        if text != before:
            cell["source"] = text.splitlines(keepends=True)
    out = json.dumps(nb, indent=1, ensure_ascii=False) + "\n"
    if out != raw:
        path.write_text(out, encoding="utf-8")
        return True
    return False


def rewrite_translations(hashes: dict) -> list[Path]:
    changed = []
    for path in sorted(ROOT.glob("translations/*/texts/*.md")) + sorted(
            ROOT.glob("translations/*/lab/README.md")):
        raw = path.read_text(encoding="utf-8")
        text = rewrite_mentions(raw)
        text = re.sub(r"en:([0-9a-f]{12})", lambda m: "en:" + hashes.get(m.group(1), m.group(1)), text)
        if text != raw:
            path.write_text(text, encoding="utf-8")
            changed.append(path)
    return changed


TEXT_SUFFIXES = {".md", ".toml", ".yaml", ".yml", ".sbatch", ".cfg", ".txt", ".sh"}


def rewrite_all() -> list[Path]:
    changed, hashes = [], {}
    files = [ROOT / f for f in sh("git", "ls-files").split("\n") if f]
    files += [ROOT / f for f in sh("git", "ls-files", "--others", "--exclude-standard").split("\n") if f]
    readme = ROOT / "lab" / "README.md"
    if readme.exists():
        before = readme.read_text(encoding="utf-8")
        hashes[cell_hash(before)] = cell_hash(rewrite_mentions(before))
    for path in sorted(set(files)):
        rel = path.relative_to(ROOT).as_posix()
        if not path.is_file() or path == HERE:
            continue
        if path.suffix == ".ipynb":
            # the built translations copy the English code cells: the same rewrite
            if re.match(r"(notebooks|lab|translations/[^/]+/(notebooks|lab))/[^/]+$", rel) and \
                    rewrite_notebook(path, {} if rel.startswith("translations/") else hashes):
                changed.append(path)
            continue
        if re.match(r"translations/[^/]+/(texts/[^/]+\.md|lab/README\.md)$", rel):
            continue   # below, with the hashes of the English cells
        raw = path.read_text(encoding="utf-8", errors="surrogateescape")
        if path.suffix == ".py":
            text = rewrite_python(raw, rel)
        elif path.suffix in TEXT_SUFFIXES or path.name == "Makefile":
            text = rewrite_mentions(raw)
        else:
            continue
        if text != raw:
            path.write_text(text, encoding="utf-8", errors="surrogateescape")
            changed.append(path)
    return changed + rewrite_translations(hashes)


# ---------------------------------------------------------------------- 3. the edits

def edit(rel: str, old: str, new: str, regex: bool = False, count: int = 0) -> None:
    """Replace ``old`` by ``new`` in ``rel``; a no-op when ``new`` is there already."""
    path = ROOT / rel
    if not path.exists():
        print(f"restructure: {rel} missing, edit skipped")
        return
    text = path.read_text(encoding="utf-8")
    if regex:
        result = re.sub(old, new, text, count=count, flags=re.M)
    else:
        if new and new in text and old not in text:
            return
        result = text.replace(old, new)
    if result == text and not (new and new in text):
        print(f"restructure: {rel}: {old[:60]!r} not found (check by hand)")
    elif result != text:
        path.write_text(result, encoding="utf-8")


def replace_docstring(rel: str, doc: str) -> None:
    path = ROOT / rel
    text = path.read_text(encoding="utf-8")
    end = text.index('"""', 3) + 3
    if text[:end] != doc:
        path.write_text(doc + text[end:], encoding="utf-8")


def drop_banners() -> None:
    """The "word for word ... edit both" banners: the notebook is the one source now."""
    block = re.compile(r"(?:^#[^\n]*\n)+", re.M)

    def comment(m):
        flat = re.sub(r"\s*\n#\s*", " ", m.group(0))
        if "word for word" not in flat and "Edit both" not in flat:
            return m.group(0)
        numbers = sorted(set(re.findall(r"[Nn]otebook (\d\d)", flat)))
        which = " and ".join(numbers) or "a notebook"
        return (f"# Notebook {which}'s `#@save` cells: edit them there, then run "
                "`python -m helpers save`.\n")

    for path in sorted((ROOT / "helpers").rglob("*.py")):
        if path.name == "onesource.py":
            continue
        raw = path.read_text(encoding="utf-8")
        text = block.sub(comment, raw)
        text = re.sub(r"\(tests/test_one_source\.py fails when they\s+differ\)",
                      "(``python -m helpers save``\nwrites them here)", text)
        if text != raw:
            path.write_text(text, encoding="utf-8")


def edits() -> None:
    # files read beside a module: one folder deeper now
    edit("helpers/lessons/quiz.py", 'Path(__file__).resolve().parents[1] / "translations"',
         'Path(__file__).resolve().parents[2] / "translations"')
    edit("helpers/data/sources.py", 'Path(__file__).resolve().parent.parent / "data"',
         'Path(__file__).resolve().parents[2] / "data"')
    edit("helpers/lessons/hosted.py", "ROOT = Path(__file__).resolve().parent.parent",
         "ROOT = Path(__file__).resolve().parents[2]")
    edit("helpers/lessons/translate.py", "ROOT = Path(__file__).resolve().parents[1]",
         "ROOT = Path(__file__).resolve().parents[2]")
    edit("helpers/lessons/translate.py", '(root / "helpers" / "quizzes")',
         '(root / "helpers" / "lessons" / "quizzes")')
    edit("tests/test_install.py", '(ROOT / "helpers" / "quizzes")',
         '(ROOT / "helpers" / "lessons" / "quizzes")')
    # the grader's digest hashes its modules' files, now in three packages
    shards = ROOT / "helpers/grader/shards.py"
    if shards.exists():
        text = shards.read_text(encoding="utf-8")
        m = re.search(r"GRADER_MODULES = \(([^)]*)\)", text)
        names = re.findall(r'"([\w.]+)"', m.group(1))
        dotted = [MOVES.get(n, n) for n in names]
        listing = _parenthesised("GRADER_MODULES = ", [f'"{n}"' for n in dotted])
        text = text.replace(m.group(0), listing)
        text = text.replace('(Path(__file__).parent / f"{name}.py")',
                            '(Path(__file__).parents[1] / f"{name.replace(\'.\', \'/\')}.py")')
        shards.write_text(text, encoding="utf-8")
    # the docstrings that list modules
    replace_docstring("helpers/__init__.py", TOP_DOC)
    if (ROOT / "helpers/lessons/__init__.py").exists():
        replace_docstring("helpers/lessons/__init__.py", LESSONS_DOC)
    drop_banners()
    # python -m helpers save
    cli = ROOT / "helpers/cli/__init__.py"
    text = cli.read_text(encoding="utf-8")
    if "_add_save" not in text:
        text = text.replace("\n\n_ADDERS = [", '''

def _add_save(sub):
    p = sub.add_parser("save", help="write the notebooks' #@save cells into their helpers "
                       "modules (--check: only say what is out of date)")
    p.add_argument("--check", action="store_true")
    p.set_defaults(func=lambda args: __import__(
        "helpers.course.onesource").course.onesource.main(["--check"] if args.check else []))


_ADDERS = [''')
        text = text.replace("_add_translate]", "_add_translate,\n           _add_save]")
        text = text.replace("``translate`` (the translated notebooks).",
                            "``translate`` (the translated notebooks), ``save`` (the "
                            "notebooks' ``#@save``\ncells into helpers).")
        cli.write_text(text, encoding="utf-8")
    # the one-source test names the command
    edit("tests/test_one_source.py", 'pytest.fail("\\n\\n".join(problems), pytrace=False)',
         'pytest.fail("\\n\\n".join(problems) + "\\n\\nThe notebook is the source: run "\n'
         '                    "`python -m helpers save` to write its cells into helpers.",\n'
         '                    pytrace=False)')
    edit("tests/test_one_source.py",
         "must hold each of them word for word. Edit one without the\nother and this test "
         "fails, with the difference.",
         "must hold each of them word for word: ``python -m helpers save``\nwrites them there "
         "(never edit the module's copy). This test fails, with the difference\nand the "
         "command, when a module is out of date.")
    edit("README.md",
         "and kept word for word in that module (`tests/test_one_source.py`). `helpers/` does what\n"
         "is not the lesson: data, backbones, the one image path, metrics with intervals, plots,\n"
         "self-checks, the grader and the command line. Its modules' docstrings name the notebook\n"
         "that introduces them.",
         "and written word for word into that module by `python -m helpers save`\n"
         "(`tests/test_one_source.py` fails while a module is out of date). `helpers/` does what\n"
         "is not the lesson, in folders that show its layers: `data/` (datasets, the one image\n"
         "path, the pipeline), `models/` (backbones, features, labels), `lessons/` (the `#@save`\n"
         "code, metrics with intervals, plots, self-checks), `grader/` (the lab's grader),\n"
         "`course/` (the course runner, the slides) and `cli/` (the command line). Its modules'\n"
         "docstrings name the notebook that introduces them.")
    edit("CONTRIBUTING.md", "`#@save helpers.<module>` in a notebook cell; `tests/test_one_source.py` fails,",
         "`#@save helpers.<module>` in a notebook cell; edit it there and run\n"
         "  `python -m helpers save`, which writes it into the module; `tests/test_one_source.py` fails,")


# ---------------------------------------------------------------------- 4. new files

def write_new_files() -> None:
    for rel, text in NEW_FILES.items():
        path = ROOT / rel
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            sh("git", "add", rel)


NEW_FILES: dict[str, str] = {}   # filled below: helpers/course/onesource.py, tests/test_layering.py


def report() -> None:
    left = [p for p in (ROOT / "helpers").rglob("*.py")
            if "Path(__file__)" in p.read_text(encoding="utf-8")]
    print("check by hand, files read beside a module:")
    for p in left:
        for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1):
            if "Path(__file__)" in line:
                print(f"  {p.relative_to(ROOT)}:{n}: {line.strip()}")
    old = re.compile(r"from helpers import [^\n]*\b(" + "|".join(
        o for o in MOVES if "." not in o and MOVES[o] != o) + r")\b")
    for p in sorted((ROOT / "helpers").rglob("*.py")):
        if old.search(p.read_text(encoding="utf-8")):
            print(f"restructure: an old import is left in {p.relative_to(ROOT)}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dry-run", action="store_true")
    args = parser.parse_args(argv)
    if not (ROOT / "helpers" / "__init__.py").exists():
        sys.exit("restructure: run it from the repository root")
    check_known()
    move(args.dry_run)
    if args.dry_run:
        return 0
    changed = rewrite_all()
    edits()
    write_new_files()
    for path in changed:
        print(f"rewrote {path.relative_to(ROOT)}")
    report()
    return 0


NEW_FILES["helpers/course/onesource.py"] = r'''"""One source for the lessons' code: ``python -m helpers save`` (d2l's ``#@save``).

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
'''

NEW_FILES["tests/test_layering.py"] = r'''"""The package's layers (issue #45), read from the source (imports inside functions
count): ``settings`` < ``data`` < ``models`` < ``lessons`` < ``grader`` < ``course`` <
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
                ("settings", "__main__", "data", "models", "lessons", "grader", "course", "cli")]


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
'''

NEW_FILES["tests/test_save.py"] = r'''"""``python -m helpers save`` (:mod:`helpers.course.onesource`): a notebook's ``#@save``
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
'''


if __name__ == "__main__":
    sys.exit(main())
