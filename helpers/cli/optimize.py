"""``python -m helpers dream`` (notebook 03) and ``attack`` (notebook 04): the input
optimiser of :mod:`helpers.lessons.optimize` on the command line. ``attack`` takes no seed:
it starts from the photo and follows the sign of the gradient, so it is
deterministic.
"""

from __future__ import annotations

import json

from helpers.cli.common import err


def _class_or_exit(name):
    from helpers.models.labels import UnknownClassError, find_class

    try:
        return find_class(name)
    except UnknownClassError as e:
        err(str(e))
        return None


DRAWERS = {name: [f"efficientnet_{n}" for n in name.split("+")]
           for name in ("lite0", "lite1", "lite2", "lite0+lite1")}


def cmd_dream(args) -> int:
    from helpers.models.backbones import ensemble, get_backbone
    from helpers.data.images import load_image, save_png
    from helpers.models.labels import CAT_CLASSES, imagenet_labels
    from helpers.lessons.natural import draw_natural
    from helpers.lessons.optimize import draw, robust_probability
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

    from helpers.models.backbones import get_backbone, input_size
    from helpers.data.images import ImageError, load_image, save_png
    from helpers.models.labels import imagenet_labels
    from helpers.lessons.optimize import attack, parse_epsilon
    import keras

    target = _class_or_exit(args.target)
    if target is None:
        return 2
    try:
        epsilon = parse_epsilon(args.eps)
        image = np.round(load_image(args.image, input_size(args.backbone)))
    except (ValueError, ImageError) as e:
        err(str(e))
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


def add_commands(sub) -> None:
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
    a.add_argument("--backbone", default="efficientnet_lite0")
    a.add_argument("--json", action="store_true")
    a.set_defaults(func=cmd_attack)
