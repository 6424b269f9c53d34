"""Self-checks before and after each lesson: the questions, stored once, shown as
plain HTML in the notebook, in its slides and on a printable sheet (issue #35).

The questions of a notebook live in ``helpers/quizzes/<notebook>.json``; each has
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
"""

from __future__ import annotations

import html
import json
from pathlib import Path

FOLDER = Path(__file__).parent / "quizzes"
NOTEBOOKS = ("01", "02", "03", "04", "05", "lab")


def questions(notebook=None, when=None) -> list[dict]:
    """The stored questions, in order, of one notebook (or all), ``pre`` or ``post``
    (or both), each with its ``notebook``. Notebook 01."""
    names = [notebook] if notebook else NOTEBOOKS
    out = []
    for name in names:
        path = FOLDER / f"{name}.json"
        if not path.exists():
            raise FileNotFoundError(f"{path}: no questions for notebook {name!r} "
                                    f"(choose from {', '.join(NOTEBOOKS)})")
        for q in json.loads(path.read_text(encoding="utf-8"))["questions"]:
            if when in (None, q["when"]):
                out.append({"notebook": name, **q})
    return out


def is_numeric(q) -> bool:
    return "options" not in q


def find(question_id) -> dict:
    """One question by its id, such as ``"01-post-3"``."""
    for q in questions():
        if q["id"] == question_id:
            return q
    raise KeyError(f"no question {question_id!r}: see `python -m helpers quiz --json`")


def check(question_id, answer) -> str:
    """Say whether ``answer`` (an option's index or text, or a number) is right,
    with the explanation; printed and returned. Notebook 01."""
    q = find(question_id)
    if answer is None:
        verdict = "Not answered yet."
    elif is_numeric(q):
        right = abs(float(answer) - q["answer"]) <= q.get("tolerance", 0)
        verdict = "Right." if right else f"Not quite: the answer is {_number(q['answer'])}."
    else:
        index = q["options"].index(answer) if isinstance(answer, str) else int(answer)
        right = index == q["answer"]
        verdict = "Right." if right else f"Not quite: it is \"{q['options'][q['answer']]}\"."
    message = f"{verdict} {q['explain']} (See \"{q['section']}\".)"
    print(message)
    return message


def _number(value) -> str:
    return f"{value:,}" if float(value).is_integer() else f"{value:g}"


def to_html(items, title) -> str:
    """The questions as HTML: options to click, each opening its verdict."""
    parts = [f'<div class="tl-quiz"><p><b>{html.escape(title)}</b> '
             '(click an option to see whether it is right)</p><ol>']
    for q in items:
        parts.append(f'<li id="{q["id"]}"><p>{html.escape(q["text"])}</p>')
        if is_numeric(q):
            parts.append(f'<details><summary>Work it out, then open the answer</summary>'
                         f'<p><b>{_number(q["answer"])}</b>. {html.escape(q["explain"])} '
                         f'<i>See "{html.escape(q["section"])}".</i></p></details>')
        else:
            for i, option in enumerate(q["options"]):
                verdict = ("<b>Right.</b>" if i == q["answer"] else "<b>Not quite.</b>")
                parts.append(f'<details class="tl-option"><summary>{chr(65 + i)}. '
                             f'{html.escape(option)}</summary><p>{verdict} '
                             f'{html.escape(q["explain"])} <i>See "{html.escape(q["section"])}".'
                             '</i></p></details>')
        parts.append("</li>")
    parts.append("</ol></div>")
    return "".join(parts)


class Quiz:
    """What :func:`show` displays: HTML for notebooks and decks, text elsewhere."""

    def __init__(self, items, title):
        self.items, self.title = items, title

    def _repr_html_(self):
        return to_html(self.items, self.title)

    def __repr__(self):
        return to_markdown(self.items, self.title, answers=False)


def show(notebook, when) -> Quiz:
    """Notebook ``notebook``'s ``"pre"`` (what do you expect?) or ``"post"`` (what
    did you learn?) questions, to display in a cell. Notebook 01."""
    title = {"pre": "Before you start: what do you expect?",
             "post": "Check yourself: what did you learn?"}[when]
    return Quiz(questions(notebook, when), title)


def to_markdown(items, title="Questions", answers=True) -> str:
    """A printable sheet: questions and options, then (``answers``) the key."""
    lines = [f"## {title}", ""]
    for n, q in enumerate(items, 1):
        lines.append(f"{n}. ({q['notebook']}, {q['when']}) {q['text']}")
        for i, option in enumerate(q.get("options", [])):
            lines.append(f"   - {chr(65 + i)}. {option}")
        lines.append("")
    if answers:
        lines += ["### Answers", ""]
        for n, q in enumerate(items, 1):
            key = _number(q["answer"]) if is_numeric(q) else chr(65 + q["answer"])
            lines.append(f"{n}. **{key}**: {q['explain']} (see \"{q['section']}\")")
    return "\n".join(lines) + "\n"
