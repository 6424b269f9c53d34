"""The course's command line: ``python -m helpers COMMAND``.

Commands: ``predict`` (notebook 01), ``data fetch|check`` (notebook 01),
``dream`` (notebook 03), ``attack`` (notebook 04), ``grade`` (the lab, one
submission or a class), ``train`` and ``evaluate`` (your own photos, notebook 05),
``course`` (run every notebook headless), ``slides`` (reveal.js decks, offline).
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
    return course.run_course(args.out, notebooks, args.profile, args.backend)


def _add_course(sub):
    p = sub.add_parser("course", help="run every notebook headless into an output folder")
    p.add_argument("notebooks", nargs="*", help="default: notebooks/ then lab/")
    p.add_argument("--out", default="output")
    p.add_argument("--profile", choices=["quick", "full"], default=None,
                   help="overrides TL_PROFILE for the run")
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

    try:
        items = quiz.questions(args.notebook, args.when)
    except FileNotFoundError as e:
        _err(str(e))
        return 2
    if args.json:
        print(json.dumps(items, indent=1, ensure_ascii=False))
    else:
        print(quiz.to_markdown(items, "Self-checks of the course", answers=not args.no_answers))
    return 0


def _add_quiz(sub):
    p = sub.add_parser("quiz", help="the lessons' self-check questions: a printable sheet or JSON")
    p.add_argument("--notebook", choices=["01", "02", "03", "04", "05", "lab"], default=None)
    p.add_argument("--when", choices=["pre", "post"], default=None)
    form = p.add_mutually_exclusive_group()
    form.add_argument("--markdown", action="store_true", help="a printable sheet (the default)")
    form.add_argument("--json", action="store_true", help="every question with its answer")
    p.add_argument("--no-answers", action="store_true", help="leave the answer key off the sheet")
    p.set_defaults(func=cmd_quiz)


def _add_data(sub):
    from helpers.cli.data import add_commands

    add_commands(sub)


def _add_hosted(sub):
    p = sub.add_parser("hosted", help="check (or --write) every notebook's Colab badge and "
                       "setup cell")
    p.add_argument("--write", action="store_true")
    p.set_defaults(func=lambda args: __import__("helpers.hosted").hosted.main(
        ["--write"] if args.write else []))


def _add_own(sub):
    from helpers.cli.own import add_commands

    add_commands(sub)


_ADDERS = [_add_predict, _add_data, _add_hosted, _add_optimize, _add_grade, _add_own, _add_course,
           _add_slides, _add_quiz]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m helpers", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for adder in _ADDERS:
        adder(sub)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)
