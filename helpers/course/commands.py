"""The course's own commands of ``python -m helpers`` as functions: ``course`` (run
every notebook headless), ``slides`` (reveal.js decks, offline), ``quiz`` (the lessons'
self-checks), ``hosted`` (the Colab badges and setup cells), ``save`` (the notebooks'
``#@save`` cells into helpers) and ``translate`` (the translated notebooks, issue #47).
For maintainers and instructors (``CONTRIBUTING.md``); the parsers are
:mod:`helpers.cli.course`. Each function returns the exit code.
"""

from __future__ import annotations

import json

from helpers.console import err
from helpers.lessons import translate
from helpers.lessons.translate import LANGS


def cmd_course(*, notebooks=(), out=None, profile=None, lang=None, backend=None,
               store_checked=False) -> int:
    """Run ``notebooks`` (default: notebooks/ then lab/) headless into ``out``."""
    from helpers.course import runner

    notebooks = list(notebooks) or None
    if store_checked:
        for path in notebooks or runner.course_notebooks():
            kept = runner.store_checked(path, env={"TL_PROFILE": profile or "quick"})
            print(f"{path}: kept the outputs of {kept} checked cells")
        return 0
    out = out or (f"output/{lang}" if lang else "output")
    if lang and not notebooks:
        if not (translate.ROOT / "translations" / lang / "texts").is_dir():
            err(f"no {lang} translation here (translations/{lang}/texts/)")
            return 2
        translate.build(lang)          # the translated notebooks, current
    return runner.run_course(out, notebooks, profile, backend, lang)


def cmd_slides(*, notebooks, out="output/slides") -> int:
    """Write reveal.js slides of ``notebooks`` into ``out``, viewable offline."""
    from helpers.course.slides import write_slides

    try:
        written = write_slides(notebooks, out)
    except FileNotFoundError as e:
        err(str(e))
        return 2
    for path in written:
        print(f"{path} (open it in a browser; works offline)")
    return 0


def cmd_quiz(*, notebook=None, when=None, markdown=False, as_json=False, no_answers=False,
             lang="en") -> int:
    """Print the self-check questions: a sheet (``markdown``, the default) or JSON."""
    from helpers.lessons import quiz
    from helpers.lessons.phrases import phrase

    try:
        items = quiz.questions(notebook, when, lang)
    except FileNotFoundError as e:
        err(str(e))
        return 2
    if as_json:
        print(json.dumps(items, indent=1, ensure_ascii=False))
    else:
        print(quiz.to_markdown(items, phrase("sheet", lang), not no_answers, lang))
    return 0


def cmd_hosted(*, write=False) -> int:
    """Check (or ``write``) every notebook's Colab badge and setup cell."""
    from helpers.lessons import hosted

    return hosted.main(["--write"] if write else [])


def cmd_save(*, check=False) -> int:
    """Write the notebooks' ``#@save`` cells into their modules (``check``: only say which
    are out of date)."""
    from helpers.course import onesource

    return onesource.main(["--check"] if check else [])


def cmd_translate(*, lang=None, stale=False) -> int:
    """Build the translated notebooks of ``lang`` (default: every language), or (``stale``)
    only report what is out of date."""
    langs = lang or list(LANGS)
    if stale:
        print(translate.report(langs))
        return 0
    for code in langs:
        if not (translate.ROOT / "translations" / code / "texts").is_dir():
            print(f"{code}: no texts yet (translations/{code}/texts/): skipped")
            continue
        for r in translate.build(code):
            done = len(r.translated) + len(r.stale)
            where = r.path.relative_to(translate.ROOT)
            print(f"{where}: {done}/{r.markdown} markdown cells translated"
                  + (f", {len(r.stale)} stale" if r.stale else "")
                  + (f", {len(r.missing)} shown in English" if r.missing else "")
                  + (" (written)" if r.changed else " (unchanged)"))
            for cell in r.stale:
                print(f"  stale (the English changed since; used as is): {r.stem}/{cell}")
    return 0
