"""``python -m helpers translate``: build the translated notebooks, or (``--stale``)
say what is out of date (issue #47; :mod:`helpers.lessons.translate`)."""

from __future__ import annotations

from helpers.lessons import translate


def cmd_translate(args) -> int:
    langs = args.lang or list(translate.LANGS)
    if args.stale:
        print(translate.report(langs))
        return 0
    for lang in langs:
        if not (translate.ROOT / "translations" / lang / "texts").is_dir():
            print(f"{lang}: no texts yet (translations/{lang}/texts/): skipped")
            continue
        for r in translate.build(lang):
            done = len(r.translated) + len(r.stale)
            where = r.path.relative_to(translate.ROOT)
            print(f"{where}: {done}/{r.markdown} markdown cells translated"
                  + (f", {len(r.stale)} stale" if r.stale else "")
                  + (f", {len(r.missing)} shown in English" if r.missing else "")
                  + (" (written)" if r.changed else " (unchanged)"))
            for cell in r.stale:
                print(f"  stale (the English changed since; used as is): {r.stem}/{cell}")
    return 0


def add_commands(sub):
    p = sub.add_parser("translate", help="build translations/<lang>/ notebooks from the "
                                         "English ones and the translated texts")
    p.add_argument("--lang", nargs="+", choices=translate.LANGS, default=None,
                   help="default: every language")
    p.add_argument("--stale", action="store_true",
                   help="only report: stale, missing and orphaned translations, and the "
                        "share translated per notebook (writes nothing)")
    p.set_defaults(func=cmd_translate)
