"""The parsers of the course's own commands: ``python -m helpers course`` (run every
notebook headless), ``slides`` (reveal.js decks, offline), ``quiz`` (the lessons'
self-checks), ``hosted`` (the Colab badges and setup cells), ``translate`` (the
translated notebooks, issue #47) and ``save`` (the notebooks' ``#@save`` cells into
helpers). For maintainers and instructors (``CONTRIBUTING.md``); the commands are
:mod:`helpers.course.commands`.
"""

from __future__ import annotations

from helpers.course import commands


def add_hosted(sub) -> None:
    p = sub.add_parser("hosted", help="check (or --write) every notebook's Colab badge and "
                       "setup cell")
    p.add_argument("--write", action="store_true")
    p.set_defaults(func=commands.cmd_hosted)


def add_course(sub) -> None:
    p = sub.add_parser("course", help="run every notebook headless into an output folder")
    p.add_argument("notebooks", nargs="*", help="default: notebooks/ then lab/")
    p.add_argument("--out", default=None, help="default: output (output/LANG with --lang)")
    p.add_argument("--profile", choices=["quick", "full"], default=None,
                   help="overrides TL_PROFILE for the run")
    p.add_argument("--lang", choices=["ru", "uk", "zh-TW", "sl"], default=None,
                   help="run the translated notebooks, translations/LANG/")
    p.add_argument("--backend", choices=["tensorflow", "torch", "jax"], default=None,
                   help="the Keras backend the notebooks run on (default: KERAS_BACKEND, "
                        "else tensorflow)")
    p.add_argument("--store-checked", action="store_true",
                   help="(maintainers) refresh the outputs nbval compares, strip the rest")
    p.set_defaults(func=commands.cmd_course)


def add_slides(sub) -> None:
    p = sub.add_parser("slides", help="reveal.js slides of notebooks, viewable offline")
    p.add_argument("notebooks", nargs="+", metavar="NOTEBOOK",
                   help="executed notebooks (output/*.ipynb after `make course`) show figures")
    p.add_argument("--out", default="output/slides")
    p.set_defaults(func=commands.cmd_slides)


def add_quiz(sub) -> None:
    p = sub.add_parser("quiz", help="the lessons' self-check questions: a printable sheet or JSON")
    p.add_argument("--notebook", choices=["01", "02", "03", "04", "05", "06", "lab"], default=None)
    p.add_argument("--when", choices=["pre", "post"], default=None)
    form = p.add_mutually_exclusive_group()
    form.add_argument("--markdown", action="store_true", help="a printable sheet (the default)")
    form.add_argument("--json", dest="as_json", action="store_true",
                      help="every question with its answer")
    p.add_argument("--no-answers", action="store_true", help="leave the answer key off the sheet")
    p.add_argument("--lang", choices=["en", "ru", "uk", "zh-TW", "sl"], default="en",
                   help="the translated questions (English where one is missing, with a note)")
    p.set_defaults(func=commands.cmd_quiz)


def add_translate(sub) -> None:
    p = sub.add_parser("translate", help="build translations/<lang>/ notebooks from the "
                                         "English ones and the translated texts")
    p.add_argument("--lang", nargs="+", choices=commands.LANGS, default=None,
                   help="default: every language")
    p.add_argument("--stale", action="store_true",
                   help="only report: stale, missing and orphaned translations, and the "
                        "share translated per notebook (writes nothing)")
    p.set_defaults(func=commands.cmd_translate)


def add_save(sub) -> None:
    p = sub.add_parser("save", help="write the notebooks' #@save cells into their helpers "
                       "modules (--check: only say what is out of date)")
    p.add_argument("--check", action="store_true")
    p.set_defaults(func=commands.cmd_save)
