"""Self-checks before and after each lesson: the questions, stored once, shown as
plain HTML in the notebook, in its slides and on a printable sheet (issue #35).

The questions of a notebook live in ``helpers/lessons/quizzes/<notebook>.json``; each has
``id``, ``when`` (``"pre"`` or ``"post"``), ``text``, ``section`` (the heading that
teaches it) and ``explain``, and either ``options`` with the index of the right
one in ``answer``, or a number in ``answer`` with a ``tolerance``. A numeric answer
that comes from the course's models or data names, in ``computed``, the test that
recomputes it from the course's own code (``tests/test_quiz.py``).

:func:`show` renders a notebook's questions as HTML that needs no server, no
widget and no JavaScript: each option is a ``<details>`` element; clicking it
opens "Right" or "Not quite" with the explanation, in JupyterLab, Colab, a
static HTML copy and a reveal.js deck alike. :func:`check` answers a numeric
question from code. Introduced in notebook 01.

In a translated notebook (``translations/<lang>/``, issue #47) the questions and
verdicts are in its language (:func:`helpers.settings.language`): the texts come
from ``translations/<lang>/quizzes/<notebook>.json``, the ids and answers from
English; a question not translated yet is shown in English, with a note.
"""

from __future__ import annotations

import html
import json
from pathlib import Path

from helpers import settings
from helpers.lessons.phrases import phrase

FOLDER = Path(__file__).parent / "quizzes"
TRANSLATIONS = Path(__file__).resolve().parents[2] / "translations"
NOTEBOOKS = ("01", "02", "03", "04", "05", "06", "lab")
TRANSLATED = ("text", "section", "options", "explain")   # what a translation replaces


def questions(notebook=None, when=None, lang=None) -> list[dict]:
    """The stored questions, in order, of one notebook (or all), ``pre`` or ``post``
    (or both), each with its ``notebook``, in ``lang`` (default: the notebook's,
    :func:`helpers.settings.language`). Notebook 01."""
    lang = lang or settings.language()
    names = [notebook] if notebook else NOTEBOOKS
    out = []
    for name in names:
        path = FOLDER / f"{name}.json"
        if not path.exists():
            raise FileNotFoundError(f"{path}: no questions for notebook {name!r} "
                                    f"(choose from {', '.join(NOTEBOOKS)})")
        items = json.loads(path.read_text(encoding="utf-8"))["questions"]
        if lang != "en":
            items = translated(items, name, lang)
        out += [{"notebook": name, **q} for q in items if when in (None, q["when"])]
    return out


def translated(items, name, lang) -> list[dict]:
    """English questions ``items`` of quiz ``name`` with their texts in ``lang``
    (ids, answers and tolerances stay English's); one not translated yet (or whose
    options no longer match) stays English, with a ``note``."""
    path = TRANSLATIONS / lang / "quizzes" / f"{name}.json"
    done = ({q["id"]: q for q in json.loads(path.read_text(encoding="utf-8"))["questions"]}
            if path.exists() else {})
    out = []
    for q in items:
        t = done.get(q["id"])
        if t and len(t.get("options", [])) == len(q.get("options", [])):
            out.append({**q, **{key: t[key] for key in TRANSLATED if key in t}})
        else:
            out.append({**q, "note": phrase("question_not_translated", lang)})
    return out


def is_numeric(q) -> bool:
    return "options" not in q


def find(question_id, lang=None) -> dict:
    """One question by its id, such as ``"01-post-3"``."""
    for q in questions(lang=lang):
        if q["id"] == question_id:
            return q
    raise KeyError(f"no question {question_id!r}: see `python -m helpers quiz --json`")


def check(question_id, answer, lang=None) -> str:
    """Say whether ``answer`` (an option's index or text, or a number) is right,
    with the explanation; printed and returned. Notebook 01."""
    lang = lang or settings.language()
    q = find(question_id, lang)
    if answer is None:
        verdict = phrase("not_answered", lang)
    elif is_numeric(q):
        right = abs(float(answer) - q["answer"]) <= q.get("tolerance", 0)
        verdict = phrase("right", lang) if right else \
            phrase("not_quite_number", lang, answer=_number(q["answer"]))
    else:
        options = q["options"]
        if isinstance(answer, str):   # an option's text, translated or English
            index = (options if answer in options else find(question_id, "en")["options"]).index(answer)
        else:
            index = int(answer)
        verdict = phrase("right", lang) if index == q["answer"] else \
            phrase("not_quite_option", lang, option=options[q["answer"]])
    message = f"{verdict} {q['explain']} ({phrase('see', lang, section=q['section'])})"
    print(message)
    return message


def _number(value) -> str:
    return f"{value:,}" if float(value).is_integer() else f"{value:g}"


def to_html(items, title, lang="en") -> str:
    """The questions as HTML: options to click, each opening its verdict."""
    parts = [f'<div class="tl-quiz"><p><b>{html.escape(title)}</b> '
             f'{html.escape(phrase("click", lang))}</p><ol>']
    for q in items:
        see = f'<i>{phrase("see", lang, section=html.escape(q["section"]))}</i>'
        note = f' <i>({html.escape(q["note"])})</i>' if q.get("note") else ""
        parts.append(f'<li id="{q["id"]}"><p>{html.escape(q["text"])}{note}</p>')
        if is_numeric(q):
            parts.append(f'<details><summary>{html.escape(phrase("work_out", lang))}</summary>'
                         f'<p><b>{_number(q["answer"])}</b>. {html.escape(q["explain"])} '
                         f'{see}</p></details>')
        else:
            for i, option in enumerate(q["options"]):
                verdict = phrase("right" if i == q["answer"] else "not_quite", lang)
                parts.append(f'<details class="tl-option"><summary>{chr(65 + i)}. '
                             f'{html.escape(option)}</summary><p><b>{html.escape(verdict)}</b> '
                             f'{html.escape(q["explain"])} {see}</p></details>')
        parts.append("</li>")
    parts.append("</ol></div>")
    return "".join(parts)


class Quiz:
    """What :func:`show` displays: HTML for notebooks and decks, text elsewhere."""

    def __init__(self, items, title, lang="en"):
        self.items, self.title, self.lang = items, title, lang

    def _repr_html_(self):
        return to_html(self.items, self.title, self.lang)

    def __repr__(self):
        return to_markdown(self.items, self.title, answers=False, lang=self.lang)


def show(notebook, when, lang=None) -> Quiz:
    """Notebook ``notebook``'s ``"pre"`` (what do you expect?) or ``"post"`` (what
    did you learn?) questions, to display in a cell. Notebook 01."""
    lang = lang or settings.language()
    if when not in ("pre", "post"):
        raise KeyError(when)
    return Quiz(questions(notebook, when, lang), phrase(when, lang), lang)


def to_markdown(items, title="Questions", answers=True, lang="en") -> str:
    """A printable sheet: questions and options, then (``answers``) the key."""
    lines = [f"## {title}", ""]
    for n, q in enumerate(items, 1):
        note = f" *({q['note']})*" if q.get("note") else ""
        lines.append(f"{n}. ({q['notebook']}, {q['when']}) {q['text']}{note}")
        for i, option in enumerate(q.get("options", [])):
            lines.append(f"   - {chr(65 + i)}. {option}")
        lines.append("")
    if answers:
        lines += [f"### {phrase('answers', lang)}", ""]
        for n, q in enumerate(items, 1):
            key = _number(q["answer"]) if is_numeric(q) else chr(65 + q["answer"])
            lines.append(f"{n}. **{key}**: {q['explain']} ({phrase('see', lang, section=q['section'])})")
    return "\n".join(lines) + "\n"
