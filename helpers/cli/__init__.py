"""The course's command line: ``python -m helpers COMMAND``.

Commands: ``predict`` (notebook 01), ``data fetch|check`` (notebook 01),
``dream`` (notebook 03), ``attack`` (notebook 04), ``grade`` (the lab, one
submission or a class), ``train`` and ``evaluate`` (your own photos, notebook 05),
``course`` (run every notebook headless), ``slides`` (reveal.js decks, offline),
``translate`` (the translated notebooks), ``save`` (the notebooks' ``#@save``
cells into helpers).

This package only parses: each command is a function ``cmd_<command>`` of the layer it
serves (``helpers.data.commands``, ``helpers.lessons.commands``,
``helpers.grader.commands``, ``helpers.course.commands``), called with the parsed
options as keyword arguments; it returns the exit code.
"""

from __future__ import annotations

import argparse
import importlib

# (parser module of this folder, command): the order ``--help`` lists them in, a
# student's commands first, then the instructor's and the maintainers'. The
# modules load when the parser is built, so ``import helpers.cli`` stays light.
COMMANDS = [("lessons", "predict"), ("data", "data"), ("lessons", "dream"),
            ("lessons", "attack"), ("lessons", "train"), ("grading", "evaluate"),
            ("course", "quiz"), ("grading", "grade"), ("grading", "gradebook"),
            ("course", "course"), ("course", "slides"), ("course", "translate"),
            ("course", "hosted"), ("course", "save")]

# What argparse keeps for itself: the subcommands chosen and the function to call.
BOOKKEEPING = ("command", "func", "data_command", "action")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m helpers", description=__doc__.split("\n")[0].replace("``", ""))
    sub = parser.add_subparsers(dest="command", required=True)
    for module, command in COMMANDS:
        getattr(importlib.import_module(f"helpers.cli.{module}"), f"add_{command}")(sub)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    options = {k: v for k, v in vars(args).items() if k not in BOOKKEEPING}
    return args.func(**options)
