"""Choosing a store from the command line: ``--data DIR`` (local, default ``./data``) or ``--bucket NAME``."""

from __future__ import annotations

import argparse
from pathlib import Path

from chalicelib.storage import LocalStorage, S3Storage, Storage


def add_store_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--data`` and ``--bucket`` (mutually exclusive) to ``parser``."""
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        "--data", type=Path, default=None, help="local store directory (default ./data)"
    )
    group.add_argument("--bucket", default=None, help="the drawings bucket on S3")


class NoStore(SystemExit):
    """``--data`` names a directory that holds no drawings store (a typo, most often)."""


def drawings_store_from(args: argparse.Namespace) -> Storage:
    """The drawings store named by ``--bucket`` or ``--data``.

    A local store must exist already (``comnist serve`` and ``comnist import`` create one):
    opening a mistyped ``--data`` would otherwise create an empty store and carry on with it.
    """
    if getattr(args, "bucket", None):
        return S3Storage(args.bucket)
    data = Path(args.data or "data")
    if not (data / "drawings").is_dir():
        raise NoStore(
            f"comnist: {data} holds no drawings store (no {data / 'drawings'}/); check --data, "
            "or create one with `comnist serve` or `comnist import`"
        )
    return LocalStorage(data / "drawings")


def contributors_store_from(args: argparse.Namespace) -> Storage:
    """The contributors store beside the drawings store named by the arguments."""
    if getattr(args, "contributors_bucket", None):
        return S3Storage(args.contributors_bucket)
    return LocalStorage(Path(getattr(args, "data", None) or "data") / "contributors")
