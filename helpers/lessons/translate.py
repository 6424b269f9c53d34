"""Build the translated notebooks: ``python -m helpers translate`` (issue #47).

The English notebooks are the only source of code. A translation is text only:
``translations/<lang>/texts/<stem>.md`` holds one block per English markdown cell,

    <!-- cell CELL_ID en:HASH12 -->
    the translated markdown

where ``HASH12`` marks the English text the block was translated from
(:func:`cell_hash`); ``translations/README.md`` describes the layout. :func:`build`
writes ``translations/<lang>/notebooks/*.ipynb`` and ``translations/<lang>/lab/*.ipynb``:
each markdown cell is its translation (found by notebook and cell id, else by the
English text's hash in any of the language's texts, so that a cell moved to another
notebook keeps it), or the English text with a note when there is none; each code
cell is the English cell, unchanged. :func:`report` says what is out of date.
Only the standard library: no Keras here.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from helpers import settings
from helpers.lessons import hosted
from helpers.lessons.phrases import phrase

LANGS = settings.LANGUAGES[1:]                    # ru, uk, zh-TW, sl
ROOT = Path(__file__).resolve().parents[2]
BADGE = "colab"  # the id of the "Open in Colab" cell (helpers.lessons.hosted)
MARKDOWN_KEYS = {"cell_type", "id", "metadata", "source", "attachments"}   # nbformat 4.5
HEADER = re.compile(r"^<!-- cell (\S+) en:([0-9a-f]{12}) -->$")


def cell_hash(text: str) -> str:
    """HASH12 of an English markdown cell's text."""
    return hashlib.sha256(text.strip().encode()).hexdigest()[:12]


def question_hash(question: dict) -> str:
    """HASH12 of an English self-check question (``helpers/lessons/quizzes/*.json``)."""
    text = json.dumps(question, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def sources(root=ROOT) -> list[tuple[str, Path, str]]:
    """``(stem, English notebook, built notebook relative to translations/<lang>/)``."""
    root = Path(root)
    found = [(p.stem, p, f"notebooks/{p.name}") for p in sorted((root / "notebooks").glob("*.ipynb"))]
    found += [(f"lab-{name}", root / "lab" / f"{name}.ipynb", f"lab/{name}.ipynb")
              for name in ("starter", "solution") if (root / "lab" / f"{name}.ipynb").exists()]
    return found


@dataclass
class Block:
    """One translated cell of ``texts/<stem>.md``."""
    stem: str
    cell_id: str
    en_hash: str
    text: str


def parse_texts(text: str, stem: str) -> list[Block]:
    """The blocks of one texts file (lines before the first header are a comment)."""
    blocks, lines = [], None
    for line in text.splitlines():
        match = HEADER.match(line.rstrip())
        if match:
            lines = []
            blocks.append((Block(stem, match[1], match[2], ""), lines))
        elif lines is not None:
            lines.append(line)
    for block, body in blocks:
        block.text = "\n".join(body).strip("\n").rstrip()
    return [block for block, _ in blocks]


def load_texts(lang: str, root=ROOT) -> list[Block]:
    """Every block of ``translations/<lang>/texts/*.md``, in file order."""
    folder = Path(root) / "translations" / lang / "texts"
    return [block for path in sorted(folder.glob("*.md"))
            for block in parse_texts(path.read_text(encoding="utf-8"), path.stem)]


@dataclass
class NotebookReport:
    """What :func:`build_notebook` did with one notebook's markdown cells."""
    lang: str
    stem: str
    path: Path
    markdown: int = 0
    translated: list = field(default_factory=list)   # cell ids, current
    stale: list = field(default_factory=list)        # cell ids: the English changed since
    missing: list = field(default_factory=list)      # cell ids: shown in English
    moved: list = field(default_factory=list)        # (cell id, "stem/id" of the block used)
    reads: float = 0.0                               # share of cells in the language
    changed: bool = False                            # the file was (re)written


def _lines(text: str) -> list[str]:
    """A cell's source as nbformat stores it: lines, each but the last with its newline."""
    return text.splitlines(keepends=True)


def note_text(lang: str) -> str:
    """The note under an English cell that has no translation yet."""
    return f"*({phrase('cell_not_translated', lang)})*"


def build_notebook(english: dict, stem: str, lang: str, blocks: list[Block]):
    """The translated notebook (a new dict) and its :class:`NotebookReport`."""
    by_id = {(b.stem, b.cell_id): b for b in blocks}
    by_hash = {}              # a block of this notebook first, else the first one
    for b in sorted(blocks, key=lambda b: b.stem != stem):
        by_hash.setdefault(b.en_hash, b)
    nb = json.loads(json.dumps(english))                # a deep copy, code cells as they are
    nb["metadata"]["language"] = lang
    report = NotebookReport(lang, stem, Path())
    for cell in nb["cells"]:
        if cell["cell_type"] != "markdown" or cell.get("id") == BADGE:
            continue   # code as in English; the Colab badge is the built file's own
        report.markdown += 1
        for key in set(cell) - MARKDOWN_KEYS:   # stray keys (05's English has "outputs")
            del cell[key]
        text = "".join(cell["source"])
        key, now = cell.get("id", ""), cell_hash(text)
        block = by_id.get((stem, key))
        if block is None and now in by_hash:
            block = by_hash[now]
            report.moved.append((key, f"{block.stem}/{block.cell_id}"))
        if block is None or not block.text:
            report.missing.append(key)
            cell["source"] = _lines(f"{text.rstrip()}\n\n{note_text(lang)}")
            continue
        (report.translated if block.en_hash == now else report.stale).append(key)
        cell["source"] = _lines(block.text)
    report.reads = share_in_language(nb, lang)
    return nb, report


def render(nb: dict) -> str:
    """A notebook's bytes as nbformat writes them (indent 1, keys sorted, UTF-8)."""
    return json.dumps(nb, sort_keys=True, indent=1, ensure_ascii=False) + "\n"


def build(lang: str, root=ROOT, write=True) -> list[NotebookReport]:
    """Build (``write``: and write, atomically, where the bytes changed) every
    translated notebook of ``lang``; returns one report per notebook."""
    root = Path(root)
    blocks = load_texts(lang, root)
    reports = []
    for stem, english, target in sources(root):
        nb, report = build_notebook(json.loads(english.read_text(encoding="utf-8")),
                                    stem, lang, blocks)
        report.path = root / "translations" / lang / target
        for cell in nb["cells"]:
            if cell.get("id") == BADGE:         # "Open in Colab" opens this very file
                cell["source"] = _lines(hosted.colab_badge(report.path, root))
        text = render(nb)
        old = report.path.read_text(encoding="utf-8") if report.path.exists() else None
        report.changed = old != text
        if write and report.changed:
            settings.atomic_write_text(report.path, text)
        reports.append(report)
    return reports


# ------------------------------------------------------------ which language

CYRILLIC = re.compile(r"[\u0400-\u04ff]")
CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
LATIN = re.compile(r"[A-Za-z\u00c0-\u024f]")
# characters only Simplified Chinese writes (Traditional: 這們個為時說國發進過對學習數據圖網絡...)
SIMPLIFIED = set("这们个为时说国发进过对学习数据图网络练训类层输与还样让么经现实择检测验结权")
TELLING = {"uk": "іїєґ", "ru": "ыэъё"}          # letters only one of the two writes
# common words of one language that the other does not write
CYRILLIC_WORDS = {"ru": {"и", "что", "это", "как", "или", "если", "только", "также", "его", "ее",
                         "она", "они", "может", "можно", "когда", "где", "теперь", "сеть"},
                  "uk": {"та", "що", "це", "як", "або", "якщо", "лише", "також", "його", "вона",
                         "вони", "може", "можна", "коли", "де", "тепер", "мережа"}}
SLOVENE_WORDS = {"je", "in", "ki", "da", "za", "se", "pa", "tudi", "lahko", "ali", "kot", "smo",
                 "pri", "ter", "iz", "ker", "če", "bo", "ni", "vse", "še", "so", "na", "ne", "jih",
                 "mreža", "mreže", "slike", "sliko", "učenje", "model", "naučili", "zato"}
ENGLISH_WORDS = {"the", "and", "of", "is", "to", "with", "we", "this", "that", "are", "it",
                 "for", "on", "what", "which", "a", "an", "its", "each", "from", "by", "be"}
# what stays as in English in any translation: code, formulas, links, tags, images
UNTRANSLATED = re.compile(r"```.*?```|`[^`]*`|\$\$.*?\$\$|\$[^$\n]*\$|<[^>]*>|!?\[[^\]]*\]\([^)]*\)"
                          r"|https?://\S+", re.S)


def reads_as(text: str, lang: str) -> bool:
    """Whether a cell's text (code, formulas and links aside) reads as ``lang``:
    Cyrillic with і/ї/є/ґ (uk) or ы/э/ъ/ё (ru), and never the other's letters; Chinese
    characters, not Simplified ones (zh-TW); č/š/ž or Slovene words, more than English
    ones (sl). A short Cyrillic text without telling letters passes; text with no
    letters left (a formula, an image) passes: there is nothing to translate."""
    text = UNTRANSLATED.sub(" ", text.replace(note_text(lang), "")).lower()
    latin, cyrillic = len(LATIN.findall(text)), len(CYRILLIC.findall(text))
    chinese = CJK.findall(text)
    if latin + cyrillic + 3 * len(chinese) < 3:
        return True
    if lang in ("ru", "uk"):
        if cyrillic < max(0.5 * latin, len(chinese)):
            return False
        other = "uk" if lang == "ru" else "ru"
        words = set(re.findall(r"[\u0400-\u04ff]+", text))
        if any(c in text for c in TELLING[other]):
            return False
        if any(c in text for c in TELLING[lang]) or words & CYRILLIC_WORDS[lang]:
            return True
        return not words & CYRILLIC_WORDS[other] and cyrillic < 40
    if lang == "zh-TW":
        simplified = sum(c in SIMPLIFIED for c in chinese)
        return (len(chinese) > cyrillic and 20 * simplified < len(chinese)
                and 3 * len(chinese) >= 0.5 * latin)
    if lang == "sl":
        if cyrillic + len(chinese) > 0.2 * latin:
            return False
        words = re.findall(r"[a-zčšžćđ]+", text)
        slovene = sum(w in SLOVENE_WORDS or any(c in w for c in "čšž") for w in words)
        english = sum(w in ENGLISH_WORDS for w in words)
        return slovene > english or (len(words) <= 3 and english == 0)
    return True


def share_in_language(nb: dict, lang: str) -> float:
    """The share of a notebook's markdown cells that :func:`reads_as` ``lang``."""
    texts = ["".join(c["source"]) for c in nb["cells"]
             if c["cell_type"] == "markdown" and c.get("id") != BADGE]
    return sum(reads_as(t, lang) for t in texts) / len(texts) if texts else 1.0


# ------------------------------------------------------------ the staleness report

def quiz_status(lang: str, root=ROOT) -> dict:
    """Per quiz: the English question ids whose translation is ``stale``, ``missing``,
    and the translated ids with no English question (``orphans``)."""
    root = Path(root)
    out = {}
    for english in sorted((root / "helpers" / "lessons" / "quizzes").glob("*.json")):
        questions = json.loads(english.read_text(encoding="utf-8"))["questions"]
        path = root / "translations" / lang / "quizzes" / english.name
        done = ({q["id"]: q for q in json.loads(path.read_text(encoding="utf-8"))["questions"]}
                if path.exists() else {})
        ids = {q["id"] for q in questions}
        out[english.stem] = {
            "questions": len(questions),
            "stale": [q["id"] for q in questions
                      if q["id"] in done and done[q["id"]].get("en") != question_hash(q)],
            "missing": [q["id"] for q in questions if q["id"] not in done],
            "orphans": [i for i in done if i not in ids]}
    return out


def readme_status(lang: str, root=ROOT) -> str:
    """``current``, ``stale`` or ``missing``: the translated ``lab/README.md``."""
    path = Path(root) / "translations" / lang / "lab" / "README.md"
    if not path.exists():
        return "missing"
    first = path.read_text(encoding="utf-8").split("\n", 1)[0].strip()
    english = (Path(root) / "lab" / "README.md").read_text(encoding="utf-8")
    return "current" if first == f"<!-- en:{cell_hash(english)} -->" else "stale"


def orphans(lang: str, root=ROOT) -> list[str]:
    """Blocks (``stem/id``) whose cell is in no English notebook and whose text is no
    English cell's either: translations of cells that no longer exist."""
    cells, hashes = set(), set()
    for stem, english, _ in sources(root):
        for cell in json.loads(english.read_text(encoding="utf-8"))["cells"]:
            if cell["cell_type"] == "markdown":
                cells.add((stem, cell.get("id", "")))
                hashes.add(cell_hash("".join(cell["source"])))
    return [f"{b.stem}/{b.cell_id}" for b in load_texts(lang, root)
            if (b.stem, b.cell_id) not in cells and b.en_hash not in hashes]


def report(langs=LANGS, root=ROOT) -> str:
    """The staleness report of ``langs``, as text (``python -m helpers translate --stale``)."""
    lines = []
    for lang in langs:
        folder = Path(root) / "translations" / lang
        if not (folder / "texts").is_dir() and not (folder / "quizzes").is_dir():
            lines += [f"== {lang}: no translation yet (translations/{lang}/texts/)", ""]
            continue
        lines.append(f"== {lang}")
        lines.append(f"  {'notebook':28} {'translated':>15} {'stale':>5} {'missing':>7} "
                     f"{'reads as ' + lang:>12}")
        details = []
        for r in build(lang, root, write=False):
            done = len(r.translated) + len(r.stale)
            share = done / r.markdown if r.markdown else 1.0
            lines.append(f"  {r.stem:28} {done:>4}/{r.markdown:<4} {share:4.0%} {len(r.stale):>5} "
                         f"{len(r.missing):>7} {r.reads:>12.0%}"
                         + ("  (built notebook out of date: run translate)" if r.changed else ""))
            details += [f"  stale (English changed since): {r.stem}/{i}" for i in r.stale]
            details += [f"  not translated: {r.stem}/{i}" for i in r.missing]
            details += [f"  found by its English text: {r.stem}/{i} uses the block {b}"
                        for i, b in r.moved]
        details += [f"  translation of a cell that no longer exists: {o}" for o in orphans(lang, root)]
        quizzes = quiz_status(lang, root)
        total = sum(q["questions"] for q in quizzes.values())
        missing = sum(len(q["missing"]) for q in quizzes.values())
        lines.append(f"  {'quizzes':28} {total - missing:>4}/{total:<4} questions, "
                     f"{sum(len(q['stale']) for q in quizzes.values())} stale")
        for name, q in quizzes.items():
            if len(q["missing"]) == q["questions"]:
                details.append(f"  quiz {name}: not translated ({q['questions']} questions)")
                continue
            details += [f"  quiz {name}: stale (English changed since): {i}" for i in q["stale"]]
            details += [f"  quiz {name}: not translated: {i}" for i in q["missing"]]
            details += [f"  quiz {name}: translation of a question that no longer exists: {i}"
                        for i in q["orphans"]]
        details.append(f"  lab/README.md: {readme_status(lang, root)}")
        lines += details + [""]
    return "\n".join(lines)
