"""The ``comnist`` command: one subcommand per module, each module adding its own parser."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

COMMAND_MODULES = [
    "comnist.serve",
    "comnist.inventory",
    "comnist.cloud",
    "comnist.sanitizing_cli",
    "comnist.release.cli",
    "comnist.contributors",
    "comnist.forget",
    "comnist.release.baseline_cli",
    "comnist.release.publish",
    "comnist.report",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="comnist", description="Collect hand-drawn letters and publish them as a dataset."
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log what happens")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    result = args.run(args)
    return int(result or 0)


if __name__ == "__main__":
    sys.exit(main())
