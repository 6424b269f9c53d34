"""The lessons' commands of ``python -m helpers`` as functions: ``predict`` (notebook
01), ``dream`` (notebook 03), ``attack`` (notebook 04) and ``train`` (your own photos,
notebook 05). The parsers are :mod:`helpers.cli.lessons`; each function returns the exit code.
``attack`` takes no seed: it starts from the photo and follows the sign of the gradient,
so it is deterministic.
"""

from __future__ import annotations

import json

from helpers.console import err

# The network(s) that draw for ``dream --drawn-by``.
DRAWERS = {name: [f"efficientnet_{n}" for n in name.split("+")]
           for name in ("lite0", "lite1", "lite2", "lite0+lite1")}


def _class_or_exit(name):
    from helpers.models.labels import UnknownClassError, find_class

    try:
        return find_class(name)
    except UnknownClassError as e:
        err(str(e))
        return None


def cmd_predict(*, images, backbone="efficientnet_lite0", model=None, top=5,
                as_json=False) -> int:
    """The ``top`` classes of each image: ImageNet's, or a saved classifier's (``model``)."""
    from helpers.models.backbones import BackboneUnavailableError, get_backbone
    from helpers.models.features import feature_extractor
    from helpers.data.images import ImageError, load_image
    from helpers.models.labels import decode_top

    names = None
    try:
        if model:
            from helpers.lessons.train import load_classifier

            net, names = load_classifier(model)
        else:
            net = get_backbone(backbone, include_top=True)
    except (ValueError, OSError, BackboneUnavailableError) as e:
        err(str(e))
        return 2
    run = feature_extractor(net)
    results, failed = [], 0
    for path in images:
        try:
            image = load_image(path, net.input_shape[1])
        except ImageError as e:
            err(str(e))
            failed += 1
            continue
        probs = run(image[None])
        if names:
            order = probs[0].argsort()[::-1][:top]
            best = [{"index": int(i), "label": names[i], "prob": float(probs[0, i])}
                    for i in order]
        else:
            best = decode_top(probs, top)[0]
        results.append({"file": path, "top": best})
        if not as_json:
            print(path)
            for t in best:
                print(f"  {t['prob']:6.1%}  {t['label']} ({t['index']})")
    if as_json:
        print(json.dumps(results, indent=2))
    if failed:
        err(f"{failed} of {len(images)} images could not be read")
        return 1
    return 0


def cmd_dream(*, cls, out, recipe="spectrum", drawn_by="lite0+lite1", exact=False,
              steps=300, tv=0.1, jitter=16, seed=0, as_json=False) -> int:
    """Optimise noise into the 'ideal' image of class ``cls``, saved as the PNG ``out``."""
    from helpers.models.backbones import ensemble, get_backbone
    from helpers.data.images import load_image, save_png
    from helpers.models.labels import CAT_CLASSES, imagenet_labels
    from helpers.lessons.natural import draw_natural
    from helpers.lessons.optimize import draw, robust_probability
    import keras

    target = _class_or_exit(cls)
    if target is None:
        return 2
    # the spectrum recipe aims at the class's family where the course knows one (any of
    # the five cat classes, as the other networks are asked); exact: the class alone
    family = recipe == "spectrum" and not exact and target in CAT_CLASSES
    aimed = list(CAT_CLASSES) if family else [target]
    drawers = DRAWERS[drawn_by]
    model = (get_backbone(drawers[0], include_top=True) if len(drawers) == 1
             else ensemble(drawers))
    if recipe == "spectrum":
        result = draw_natural(model, aimed, steps=steps, seed=seed, size=model.input_shape[1])
    else:
        result = draw(model, target, steps=steps, tv_weight=tv, jitter=jitter,
                      seed=seed, size=model.input_shape[1])
    path = save_png(result.image, out)
    saved = load_image(path, size=None)          # judge the 8-bit PNG, not the float image
    probs = keras.ops.convert_to_numpy(model(saved[None], training=False))[0]
    labels = imagenet_labels()
    robust = robust_probability(model, saved, target, seed=seed)
    report = {"class": {"index": target, "label": labels[target]},
              "aimed_at": [labels[i] for i in aimed], "recipe": recipe,
              "drawn_by": drawers, "prob": float(probs[target]), "robust_prob": robust,
              "prob_aimed": float(probs[aimed].sum()),
              "robust_prob_aimed": (robust_probability(model, saved, aimed, seed=seed)
                                    if family else robust),
              "seconds": round(result.seconds, 2), "steps": result.steps, "file": str(path)}
    if as_json:
        print(json.dumps(report, indent=2))
    else:
        print(f"{path}: drawn by {' + '.join(drawers)} ({recipe}, {result.steps} steps, "
              f"{result.seconds:.1f} s): p({labels[target]}) = {report['prob']:.3f}, "
              f"robust p = {report['robust_prob']:.3f}" + (
                  f"; any of {', '.join(report['aimed_at'])}: robust p = "
                  f"{report['robust_prob_aimed']:.3f}" if family else ""))
    return 0


def cmd_attack(*, image, target, out, eps="2/255", steps=20, backbone="efficientnet_lite0",
               as_json=False) -> int:
    """A targeted adversarial example of ``image`` under the L-inf budget ``eps``."""
    import numpy as np

    from helpers.models.backbones import get_backbone, input_size
    from helpers.data.images import ImageError, load_image, save_png
    from helpers.models.labels import imagenet_labels
    from helpers.lessons.optimize import attack, parse_epsilon
    import keras

    goal = _class_or_exit(target)
    if goal is None:
        return 2
    try:
        epsilon = parse_epsilon(eps)
        photo = np.round(load_image(image, input_size(backbone)))
    except (ValueError, ImageError) as e:
        err(str(e))
        return 2
    model = get_backbone(backbone, include_top=True)
    result = attack(model, photo, goal, epsilon=epsilon, steps=steps)
    path = save_png(result.image, out)
    saved = load_image(path, size=None)
    labels = imagenet_labels()

    def top(x):
        probs = keras.ops.convert_to_numpy(model(x[None], training=False))[0]
        i = int(probs.argmax())
        return {"index": i, "label": labels[i], "prob": float(probs[i])}, probs

    original, _ = top(photo)
    adversarial, probs = top(saved)
    report = {"original": original, "adversarial": adversarial,
              "target": {"index": goal, "label": labels[goal]},
              "target_prob": float(probs[goal]),
              "linf": float(np.abs(saved - photo).max()), "epsilon": epsilon,
              "success": adversarial["index"] == goal, "steps": result.steps,
              "seconds": round(result.seconds, 2), "file": str(path)}
    if as_json:
        print(json.dumps(report, indent=2))
    else:
        print(f"original:    {original['label']} ({original['prob']:.3f})")
        print(f"adversarial: {adversarial['label']} ({adversarial['prob']:.3f}); "
              f"p({labels[goal]}) = {report['target_prob']:.3f}; "
              f"L-inf {report['linf']:.0f}/255; saved to {path}")
    return 0 if report["success"] else 1


def cmd_train(*, folder, out, test_dir=None, backbone="auto", seed=0, as_json=False) -> int:
    """Train a classifier on ``folder`` (one subfolder of photos per class) into ``out``."""
    from helpers.lessons.own_photos import (AUTO_BACKBONES, MIN_PER_CLASS, PhotoFolderError,
                                            format_report, read_class_folder, train_folder)

    try:  # the folders first: a bad one is reported before Keras loads (seconds)
        read_class_folder(folder, min_per_class=5 if test_dir else MIN_PER_CLASS,
                          quiet=True)  # train_folder reads them again (cached) and says it
        if test_dir:
            read_class_folder(test_dir, min_per_class=1, role="test", quiet=True)
    except PhotoFolderError as e:
        err(str(e))
        return 2
    from helpers.models.backbones import available_backbones

    backbones = list(AUTO_BACKBONES) if backbone == "auto" else [backbone]
    unknown = [b for b in backbones if b not in available_backbones()]
    if unknown:
        err(f"unknown backbone {unknown[0]!r}; use auto or one of "
            f"{', '.join(available_backbones())}")
        return 2
    try:
        report = train_folder(folder, out, test_dir=test_dir, backbones=backbones,
                              seed=seed, progress=not as_json)
    except PhotoFolderError as e:
        err(str(e))
        return 2
    print(json.dumps(report, indent=2) if as_json else format_report(report))
    return 0
