"""The parsers of the lessons' commands: ``python -m helpers predict`` (notebook 01),
``dream`` (notebook 03), ``attack`` (notebook 04) and ``train`` (your own photos, the end
of notebook 05). The commands are :mod:`helpers.lessons.commands`.
"""

from __future__ import annotations

from helpers.lessons import commands


def add_predict(sub) -> None:
    p = sub.add_parser("predict", help="top-K classes of images: ImageNet's, or a saved "
                                       "classifier's (--model)")
    p.add_argument("images", nargs="+", metavar="IMAGE")
    p.add_argument("--backbone", default="efficientnet_lite0")
    p.add_argument("--model", help="a .keras classifier saved by the course (train, notebooks)")
    p.add_argument("--top", type=int, default=5)
    p.add_argument("--json", dest="as_json", action="store_true", help="print one JSON list")
    p.set_defaults(func=commands.cmd_predict)


def add_dream(sub) -> None:
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
    d.add_argument("--drawn-by", choices=sorted(commands.DRAWERS), default="lite0+lite1",
                   help="the network(s) that draw; the others are left to judge "
                        "(default: lite0+lite1, Lite2 judges)")
    d.add_argument("--exact", action="store_true",
                   help="aim at the class alone, not at its family (tabby: any cat class)")
    d.add_argument("--steps", type=int, default=300)
    d.add_argument("--tv", type=float, default=0.1, help="tv-jitter: total variation per pixel")
    d.add_argument("--jitter", type=int, default=16, help="tv-jitter: max random shift in px")
    d.add_argument("--seed", type=int, default=0)
    d.add_argument("--json", dest="as_json", action="store_true")
    d.set_defaults(func=commands.cmd_dream)


def add_attack(sub) -> None:
    a = sub.add_parser("attack", help="targeted adversarial example under an L-inf budget")
    a.add_argument("image", metavar="IMAGE")
    a.add_argument("--target", required=True, help="ImageNet class name or index")
    a.add_argument("--eps", default="2/255", help="budget: 2/255, or pixel levels such as 2")
    a.add_argument("--out", required=True, help="PNG file to write")
    a.add_argument("--steps", type=int, default=20)
    a.add_argument("--backbone", default="efficientnet_lite0")
    a.add_argument("--json", dest="as_json", action="store_true")
    a.set_defaults(func=commands.cmd_attack)


def add_train(sub) -> None:
    t = sub.add_parser("train", help="train a classifier on your own folder of photos "
                                     "(DIR/<class>/*)")
    t.add_argument("folder", metavar="DIR", help="a folder with one subfolder of photos per class")
    t.add_argument("--out", required=True, help="the .keras file to write")
    t.add_argument("--test-dir", help="test photos in the same layout (default: 20%% of DIR, "
                                      "set aside before any choice)")
    t.add_argument("--backbone", default="auto", help="auto (chosen by cross-validation) or a "
                                                      "backbone name")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--json", dest="as_json", action="store_true")
    t.set_defaults(func=commands.cmd_train)
