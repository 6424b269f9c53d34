"""The course's command line: ``python -m helpers COMMAND``.

Commands: ``predict`` (notebook 01), ``data fetch|check`` (notebook 01),
``dream`` (notebook 03), ``attack`` (notebook 04), ``grade`` (the lab, one
submission or a class), ``train`` and ``evaluate`` (your own photos, notebook 05),
``course`` (run every notebook headless), ``slides`` (reveal.js decks, offline),
``translate`` (the translated notebooks), ``save`` (the notebooks' ``#@save``
cells into helpers).
"""

from __future__ import annotations

import argparse
import importlib
import json

from helpers.cli.common import err


# ------------------------------------------------------------------ predict

def cmd_predict(args) -> int:
    from helpers.models.backbones import BackboneUnavailableError, get_backbone
    from helpers.models.features import feature_extractor
    from helpers.data.images import ImageError, load_image
    from helpers.models.labels import decode_top

    names = None
    try:
        if args.model:
            from helpers.lessons.train import load_classifier

            model, names = load_classifier(args.model)
        else:
            model = get_backbone(args.backbone, include_top=True)
    except (ValueError, OSError, BackboneUnavailableError) as e:
        err(str(e))
        return 2
    run = feature_extractor(model)
    results, failed = [], 0
    for path in args.images:
        try:
            image = load_image(path, model.input_shape[1])
        except ImageError as e:
            err(str(e))
            failed += 1
            continue
        probs = run(image[None])
        if names:
            order = probs[0].argsort()[::-1][:args.top]
            top = [{"index": int(i), "label": names[i], "prob": float(probs[0, i])} for i in order]
        else:
            top = decode_top(probs, args.top)[0]
        results.append({"file": path, "top": top})
        if not args.json:
            print(path)
            for t in top:
                print(f"  {t['prob']:6.1%}  {t['label']} ({t['index']})")
    if args.json:
        print(json.dumps(results, indent=2))
    if failed:
        err(f"{failed} of {len(args.images)} images could not be read")
        return 1
    return 0


def _add_predict(sub):
    p = sub.add_parser("predict", help="top-K classes of images: ImageNet's, or a saved "
                                       "classifier's (--model)")
    p.add_argument("images", nargs="+", metavar="IMAGE")
    p.add_argument("--backbone", default="efficientnet_lite0")
    p.add_argument("--model", help="a .keras classifier saved by the course (train, notebooks)")
    p.add_argument("--top", type=int, default=5)
    p.add_argument("--json", action="store_true", help="print one JSON list")
    p.set_defaults(func=cmd_predict)


# ------------------------------------------------------------------- course

def cmd_course(args) -> int:
    from helpers.course import runner

    notebooks = args.notebooks or None
    if args.store_checked:
        for path in notebooks or runner.course_notebooks():
            kept = runner.store_checked(path, env={"TL_PROFILE": args.profile or "quick"})
            print(f"{path}: kept the outputs of {kept} checked cells")
        return 0
    out = args.out or (f"output/{args.lang}" if args.lang else "output")
    if args.lang and not notebooks:
        from helpers.lessons import translate

        if not (translate.ROOT / "translations" / args.lang / "texts").is_dir():
            _err(f"no {args.lang} translation here (translations/{args.lang}/texts/)")
            return 2
        translate.build(args.lang)          # the translated notebooks, current
    return runner.run_course(out, notebooks, args.profile, args.backend, args.lang)


def _add_course(sub):
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
    p.set_defaults(func=cmd_course)


def cmd_slides(args) -> int:
    from helpers.course.slides import write_slides

    try:
        written = write_slides(args.notebooks, args.out)
    except FileNotFoundError as e:
        err(str(e))
        return 2
    for path in written:
        print(f"{path} (open it in a browser; works offline)")
    return 0


def _add_slides(sub):
    p = sub.add_parser("slides", help="reveal.js slides of notebooks, viewable offline")
    p.add_argument("notebooks", nargs="+", metavar="NOTEBOOK",
                   help="executed notebooks (output/*.ipynb after `make course`) show figures")
    p.add_argument("--out", default="output/slides")
    p.set_defaults(func=cmd_slides)


def cmd_quiz(args) -> int:
    import json

    from helpers.lessons import quiz
    from helpers.lessons.phrases import phrase

    try:
        items = quiz.questions(args.notebook, args.when, args.lang)
    except FileNotFoundError as e:
        err(str(e))
        return 2
    if args.json:
        print(json.dumps(items, indent=1, ensure_ascii=False))
    else:
        print(quiz.to_markdown(items, phrase("sheet", args.lang), not args.no_answers, args.lang))
    return 0


def _add_quiz(sub):
    p = sub.add_parser("quiz", help="the lessons' self-check questions: a printable sheet or JSON")
    p.add_argument("--notebook", choices=["01", "02", "03", "04", "05", "06", "lab"], default=None)
    p.add_argument("--when", choices=["pre", "post"], default=None)
    form = p.add_mutually_exclusive_group()
    form.add_argument("--markdown", action="store_true", help="a printable sheet (the default)")
    form.add_argument("--json", action="store_true", help="every question with its answer")
    p.add_argument("--no-answers", action="store_true", help="leave the answer key off the sheet")
    p.add_argument("--lang", choices=["en", "ru", "uk", "zh-TW", "sl"], default="en",
                   help="the translated questions (English where one is missing, with a note)")
    p.set_defaults(func=cmd_quiz)


def cmd_hosted(args) -> int:
    from helpers.lessons import hosted

    return hosted.main(["--write"] if args.write else [])


def _add_hosted(sub):
    p = sub.add_parser("hosted", help="check (or --write) every notebook's Colab badge and "
                       "setup cell")
    p.add_argument("--write", action="store_true")
    p.set_defaults(func=cmd_hosted)


def _add_save(sub):
    p = sub.add_parser("save", help="write the notebooks' #@save cells into their helpers "
                       "modules (--check: only say what is out of date)")
    p.add_argument("--check", action="store_true")
    p.set_defaults(func=lambda args: __import__(
        "helpers.course.onesource").course.onesource.main(["--check"] if args.check else []))


def _commands_of(module: str):
    """The adder of a module of this folder that brings its own ``add_commands``."""
    return lambda sub: importlib.import_module(f"helpers.cli.{module}").add_commands(sub)


_ADDERS = [_add_predict, _commands_of("data"), _add_hosted, _commands_of("optimize"),
           _commands_of("grading"), _commands_of("own"), _add_course, _add_slides, _add_quiz,
           _commands_of("translating"), _add_save]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m helpers", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for adder in _ADDERS:
        adder(sub)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)
