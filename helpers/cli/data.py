"""The ``python -m helpers data`` parser: fetch datasets (from their sources or an
instructor's pack), write a pack, check a folder of photos. Introduced in notebook 01;
the commands are :mod:`helpers.data.commands`."""

from __future__ import annotations

from helpers.data import commands


def add_data(sub) -> None:
    p = sub.add_parser("data", help="fetch, pack or check (offline) the course's datasets")
    dsub = p.add_subparsers(dest="data_command", required=True)
    f = dsub.add_parser("fetch", help="download, verify and extract datasets: from their "
                        "public source, or from an instructor's pack (--from URL)")
    f.add_argument("names", nargs="*", help="cats_and_dogs_filtered, cats_vs_dogs, oxford_pets "
                   "(with --from: names in the pack)")
    f.add_argument("--all", dest="every", action="store_true",
                   help="every dataset of the pack (with --from)")
    f.add_argument("--from", dest="source", metavar="URL", default=None,
                   help="the address of a pack made by `data pack`")
    f.add_argument("--dest", default=None, help="folder to stage into (default: the cache)")
    f.set_defaults(func=commands.cmd_data_fetch)
    k = dsub.add_parser("pack", help="write every dataset staged under TL_DATA_DIR as one "
                        "archive each, with checksums, for a web server")
    k.add_argument("dest", help="the folder to write the pack into")
    k.add_argument("names", nargs="*", help="only these datasets (default: all)")
    k.add_argument("--data-dir", default=None, help="the staged data (default: TL_DATA_DIR)")
    k.set_defaults(func=commands.cmd_data_pack)
    c = dsub.add_parser("check", help="scan an image folder; never changes it")
    c.add_argument("folder")
    c.add_argument("--labels", choices=["species", "breed"], default="breed",
                   help="for Oxford-style names: species (cat/dog) or breed")
    c.add_argument("--layout", choices=["oxford", "subfolders", "splits"], default=None)
    c.add_argument("--json", dest="as_json", action="store_true")
    c.set_defaults(func=commands.cmd_data_check)
