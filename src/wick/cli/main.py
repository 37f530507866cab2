"""``wick``: the command line. ``wick train`` runs the tutorial's job on its built-in toy data."""

from __future__ import annotations

import argparse
import sys

from .. import __version__


def _train(args) -> int:
    from ..tutorial import tensor_and_gradient_sections

    tensor_and_gradient_sections(print)
    return 0


def _info(args) -> int:
    import numpy

    print(f"wick {__version__}")
    print(f"python {sys.version.split()[0]}, numpy {numpy.__version__}")
    return 0


def main(argv=None) -> int:
    """Entry point of the ``wick`` console script."""
    parser = argparse.ArgumentParser(prog="wick", description=__doc__)
    parser.add_argument("--version", action="version", version=f"wick {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("train", help="run the tutorial's job on its built-in toy dataset")
    sub.add_parser("info", help="versions and devices")
    args = parser.parse_args(argv)
    return {"train": _train, "info": _info}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
