"""The course's command line: ``python -m helpers COMMAND``.

Commands: ``predict`` (notebook 01), ``data fetch|check`` (notebook 01),
``dream`` (notebook 03), ``attack`` (notebook 04), ``grade`` (the lab, one
submission or a class), ``train`` and ``evaluate`` (your own photos, notebook 05),
``course`` (run every notebook headless), ``slides`` (reveal.js decks, offline),
``translate`` (the translated notebooks).
"""

from __future__ import annotations

import argparse
import json
import sys


def _err(message: str) -> None:
    print(f"error: {message}", file=sys.stderr)


# ------------------------------------------------------------------ predict

def cmd_predict(args) -> int:
    from helpers.backbones import BackboneUnavailableError, get_backbone
    from helpers.features import feature_extractor
    from helpers.images import ImageError, load_image
    from helpers.labels import decode_top

    names = None
    try:
        if args.model:
            from helpers.train import load_classifier

            model, names = load_classifier(args.model)
        else:
            model = get_backbone(args.backbone, include_top=True)
    except (ValueError, OSError, BackboneUnavailableError) as e:
        _err(str(e))
        return 2
    run = feature_extractor(model)
    results, failed = [], 0
    for path in args.images:
        try:
            image = load_image(path, model.input_shape[1])
        except ImageError as e:
            _err(str(e))
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
        _err(f"{failed} of {len(args.images)} images could not be read")
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


# --------------------------------------------------------------------- data

def cmd_data_fetch(args) -> int:
    from helpers.sources import (DatasetUnavailableError, ManifestMismatchError,
                                 UnsafeArchiveError, fetch)

    try:
        path = fetch(args.name, args.dest)
    except (DatasetUnavailableError, UnsafeArchiveError, ManifestMismatchError,
            ValueError) as e:
        _err(str(e))
        return 1
    print(f"{args.name} is ready in {path}")
    return 0


def _print_report(report, labels) -> None:
    counts = report.counts()
    print(f"{report.root}: {len(report.files)} usable images in {len(counts)} classes "
          f"({report.layout} layout, labels: {labels})")
    for label, n in counts.items():
        print(f"  {n:6d}  {label}")
    if report.bad:
        print(f"{len(report.bad)} unusable files (left in place, excluded by the pipelines):")
        for b in report.bad:
            print(f"  {b['file']}: {b['reason']}")
    if report.skipped:
        print(f"{len(report.skipped)} other files ignored (not image names)")
    print(f"report (honoured by the pipelines): {report.to_json()['report']}")


def cmd_data_check(args) -> int:
    from pathlib import Path

    from helpers.folders import check_folder, detect_layout
    from helpers.sources import format_manifest_problems, manifest_for, verify_manifest

    root = Path(args.folder)
    try:
        layout = args.layout or (detect_layout(root) if root.is_dir() else None)
        parts = ([root / p.name for p in sorted(root.iterdir()) if p.is_dir()
                  and not p.name.startswith(".")] if layout == "splits" else [root])
        reports = [check_folder(part, labels=args.labels,
                                layout="subfolders" if layout == "splits" else layout,
                                progress=not args.json) for part in parts]
    except (FileNotFoundError, NotADirectoryError) as e:
        _err(str(e))
        return 2
    manifest = manifest_for(root)
    problems = verify_manifest(root, manifest) if manifest else {}
    if args.json:
        out = [r.to_json() for r in reports]
        result = out[0] if layout != "splits" else {"root": str(root), "splits": out}
        if manifest:
            result["manifest"] = {"file": manifest, "problems": problems}
        print(json.dumps(result, indent=2))
    else:
        for report in reports:
            _print_report(report, args.labels)
        if manifest:
            print(format_manifest_problems(root, problems) if problems else
                  f"{root}: every file matches the manifest {manifest}")
    if problems:
        _err(f"{root} differs from its manifest (see above); nothing was changed")
        return 1
    return 0 if all(r.files for r in reports) else 1


def _add_data(sub):
    p = sub.add_parser("data", help="pre-stage (fetch) or check (offline) datasets")
    dsub = p.add_subparsers(dest="data_command", required=True)
    f = dsub.add_parser("fetch", help="download, verify and extract a dataset (online)")
    f.add_argument("name", help="cats_and_dogs_filtered, cats_vs_dogs or oxford_pets")
    f.add_argument("--dest", default=None, help="folder to stage into (default: the cache)")
    f.set_defaults(func=cmd_data_fetch)
    c = dsub.add_parser("check", help="scan an image folder; never changes it")
    c.add_argument("folder")
    c.add_argument("--labels", choices=["species", "breed"], default="breed",
                   help="for Oxford-style names: species (cat/dog) or breed")
    c.add_argument("--layout", choices=["oxford", "subfolders", "splits"], default=None)
    c.add_argument("--json", action="store_true")
    c.set_defaults(func=cmd_data_check)


# ------------------------------------------------------------ dream, attack

def _class_or_exit(name):
    from helpers.labels import UnknownClassError, find_class

    try:
        return find_class(name)
    except UnknownClassError as e:
        _err(str(e))
        return None


DRAWERS = {name: [f"efficientnet_{n}" for n in name.split("+")]
           for name in ("lite0", "lite1", "lite2", "lite0+lite1")}


def cmd_dream(args) -> int:
    from helpers.backbones import ensemble, get_backbone
    from helpers.images import load_image, save_png
    from helpers.labels import CAT_CLASSES, imagenet_labels
    from helpers.natural import draw_natural
    from helpers.optimize import draw, robust_probability
    import keras

    target = _class_or_exit(args.cls)
    if target is None:
        return 2
    # the spectrum recipe aims at the class's family where the course knows one (any of
    # the five cat classes, as the other networks are asked); --exact: the class alone
    family = args.recipe == "spectrum" and not args.exact and target in CAT_CLASSES
    aimed = list(CAT_CLASSES) if family else [target]
    drawn_by = DRAWERS[args.drawn_by]
    model = (get_backbone(drawn_by[0], include_top=True) if len(drawn_by) == 1
             else ensemble(drawn_by))
    if args.recipe == "spectrum":
        result = draw_natural(model, aimed, steps=args.steps, seed=args.seed,
                              size=model.input_shape[1])
    else:
        result = draw(model, target, steps=args.steps, tv_weight=args.tv, jitter=args.jitter,
                      seed=args.seed, size=model.input_shape[1])
    path = save_png(result.image, args.out)
    saved = load_image(path, size=None)          # judge the 8-bit PNG, not the float image
    probs = keras.ops.convert_to_numpy(model(saved[None], training=False))[0]
    labels = imagenet_labels()
    robust = robust_probability(model, saved, target, seed=args.seed)
    report = {"class": {"index": target, "label": labels[target]},
              "aimed_at": [labels[i] for i in aimed], "recipe": args.recipe,
              "drawn_by": drawn_by, "prob": float(probs[target]), "robust_prob": robust,
              "prob_aimed": float(probs[aimed].sum()),
              "robust_prob_aimed": (robust_probability(model, saved, aimed, seed=args.seed)
                                    if family else robust),
              "seconds": round(result.seconds, 2), "steps": result.steps, "file": str(path)}
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(f"{path}: drawn by {' + '.join(drawn_by)} ({args.recipe}, {result.steps} steps, "
              f"{result.seconds:.1f} s): p({labels[target]}) = {report['prob']:.3f}, "
              f"robust p = {report['robust_prob']:.3f}" + (
                  f"; any of {', '.join(report['aimed_at'])}: robust p = "
                  f"{report['robust_prob_aimed']:.3f}" if family else ""))
    return 0


def cmd_attack(args) -> int:
    import numpy as np

    from helpers.backbones import get_backbone, input_size
    from helpers.images import ImageError, load_image, save_png
    from helpers.labels import imagenet_labels
    from helpers.optimize import attack, parse_epsilon
    import keras

    target = _class_or_exit(args.target)
    if target is None:
        return 2
    try:
        epsilon = parse_epsilon(args.eps)
        image = np.round(load_image(args.image, input_size(args.backbone)))
    except (ValueError, ImageError) as e:
        _err(str(e))
        return 2
    model = get_backbone(args.backbone, include_top=True)
    result = attack(model, image, target, epsilon=epsilon, steps=args.steps)
    path = save_png(result.image, args.out)
    saved = load_image(path, size=None)
    labels = imagenet_labels()

    def top(x):
        probs = keras.ops.convert_to_numpy(model(x[None], training=False))[0]
        i = int(probs.argmax())
        return {"index": i, "label": labels[i], "prob": float(probs[i])}, probs

    original, _ = top(image)
    adversarial, probs = top(saved)
    report = {"original": original, "adversarial": adversarial,
              "target": {"index": target, "label": labels[target]},
              "target_prob": float(probs[target]),
              "linf": float(np.abs(saved - image).max()), "epsilon": epsilon,
              "success": adversarial["index"] == target, "steps": result.steps,
              "seconds": round(result.seconds, 2), "file": str(path)}
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(f"original:    {original['label']} ({original['prob']:.3f})")
        print(f"adversarial: {adversarial['label']} ({adversarial['prob']:.3f}); "
              f"p({labels[target]}) = {report['target_prob']:.3f}; "
              f"L-inf {report['linf']:.0f}/255; saved to {path}")
    return 0 if report["success"] else 1


def _add_optimize(sub):
    d = sub.add_parser("dream", help="optimise noise into the 'ideal' image of a class")
    d.add_argument("cls", metavar="CLASS", help="ImageNet class name or index, e.g. tabby")
    d.add_argument("--out", required=True, help="PNG file to write")
    d.add_argument("--recipe", choices=["spectrum", "tv-jitter"], default="spectrum",
                   help="spectrum: drawn in the spectrum and colours of photos, on random "
                        "crops (notebook 03, section 5); tv-jitter: pixels with total "
                        "variation and jitter (section 3), for comparison")
    # Lite0 + Lite1 by default: drawn so, the cats were cats to Lite2 (which took no part)
    # on 4 of 5 seeds; drawn by Lite0 alone, to Lite1 and Lite2 on 2 and 1 of 5
    # (benchmarks/ideal_cat_levers.py, issue #26)
    d.add_argument("--drawn-by", choices=sorted(DRAWERS), default="lite0+lite1",
                   help="the network(s) that draw; the others are left to judge "
                        "(default: lite0+lite1, Lite2 judges)")
    d.add_argument("--exact", action="store_true",
                   help="aim at the class alone, not at its family (tabby: any cat class)")
    d.add_argument("--steps", type=int, default=300)
    d.add_argument("--tv", type=float, default=0.1, help="tv-jitter: total variation per pixel")
    d.add_argument("--jitter", type=int, default=16, help="tv-jitter: max random shift in px")
    d.add_argument("--seed", type=int, default=0)
    d.add_argument("--json", action="store_true")
    d.set_defaults(func=cmd_dream)
    a = sub.add_parser("attack", help="targeted adversarial example under an L-inf budget")
    a.add_argument("image", metavar="IMAGE")
    a.add_argument("--target", required=True, help="ImageNet class name or index")
    a.add_argument("--eps", default="2/255", help="budget: 2/255, or pixel levels such as 2")
    a.add_argument("--out", required=True, help="PNG file to write")
    a.add_argument("--steps", type=int, default=20)
    a.add_argument("--seed", type=int, default=0, help="accepted, unused: the attack is deterministic")
    a.add_argument("--backbone", default="efficientnet_lite0")
    a.add_argument("--json", action="store_true")
    a.set_defaults(func=cmd_attack)


# -------------------------------------------------------------------- grade

def _add_grade(sub):
    from helpers.cli.grading import add_commands

    add_commands(sub)


# ------------------------------------------------------------------- course

def cmd_course(args) -> int:
    from helpers.cli import course

    notebooks = args.notebooks or None
    if args.store_checked:
        for path in notebooks or course.course_notebooks():
            kept = course.store_checked(path, env={"TL_PROFILE": args.profile or "quick"})
            print(f"{path}: kept the outputs of {kept} checked cells")
        return 0
    out = args.out or (f"output/{args.lang}" if args.lang else "output")
    if args.lang and not notebooks:
        from helpers import translate

        if not (translate.ROOT / "translations" / args.lang / "texts").is_dir():
            _err(f"no {args.lang} translation here (translations/{args.lang}/texts/)")
            return 2
        translate.build(args.lang)          # the translated notebooks, current
    return course.run_course(out, notebooks, args.profile, args.backend, args.lang)


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
    from helpers.cli.slides import write_slides

    try:
        written = write_slides(args.notebooks, args.out)
    except FileNotFoundError as e:
        _err(str(e))
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

    from helpers import quiz
    from helpers.phrases import phrase

    try:
        items = quiz.questions(args.notebook, args.when, args.lang)
    except FileNotFoundError as e:
        _err(str(e))
        return 2
    if args.json:
        print(json.dumps(items, indent=1, ensure_ascii=False))
    else:
        print(quiz.to_markdown(items, phrase("sheet", args.lang), not args.no_answers, args.lang))
    return 0


def _add_quiz(sub):
    p = sub.add_parser("quiz", help="the lessons' self-check questions: a printable sheet or JSON")
    p.add_argument("--notebook", choices=["01", "02", "03", "04", "05", "lab"], default=None)
    p.add_argument("--when", choices=["pre", "post"], default=None)
    form = p.add_mutually_exclusive_group()
    form.add_argument("--markdown", action="store_true", help="a printable sheet (the default)")
    form.add_argument("--json", action="store_true", help="every question with its answer")
    p.add_argument("--no-answers", action="store_true", help="leave the answer key off the sheet")
    p.add_argument("--lang", choices=["en", "ru", "uk", "zh-TW", "sl"], default="en",
                   help="the translated questions (English where one is missing, with a note)")
    p.set_defaults(func=cmd_quiz)


def _add_translate(sub):
    from helpers.cli.translating import add_commands

    add_commands(sub)


def _add_own(sub):
    from helpers.cli.own import add_commands

    add_commands(sub)


_ADDERS = [_add_predict, _add_data, _add_optimize, _add_grade, _add_own, _add_course,
           _add_slides, _add_quiz, _add_translate]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m helpers", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for adder in _ADDERS:
        adder(sub)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)
