"""``comnist report --out DIR``: the collection at a glance, as a static page with SVG charts."""

from __future__ import annotations

import argparse
from pathlib import Path

from .stores import add_store_arguments


def add_cache_arguments(parser: argparse.ArgumentParser) -> None:
    """``--goal``, ``--cache`` and ``--no-cache``, shared by ``report`` and ``review --serve``."""
    parser.add_argument("--goal", type=int, default=None, help="drawings wanted per letter")
    parser.add_argument(
        "--cache",
        type=Path,
        default=None,
        help="where the records' facts are kept between reports (default ~/.cache/comnist/)",
    )
    parser.add_argument(
        "--no-cache", action="store_true", help="read every record again and keep nothing"
    )


def run(args: argparse.Namespace) -> int:
    from .desk.cli import run_report

    return run_report(args)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "report", help="write the collection at a glance as HTML with SVG charts"
    )
    add_store_arguments(parser)
    add_cache_arguments(parser)
    parser.add_argument("--out", type=Path, default=Path("build/report"))
    parser.set_defaults(run=run)
