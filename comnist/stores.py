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


def drawings_store_from(args: argparse.Namespace) -> Storage:
    """The drawings store named by ``--bucket`` or ``--data``."""
    if getattr(args, "bucket", None):
        return S3Storage(args.bucket)
    return LocalStorage(Path(args.data or "data") / "drawings")


def contributors_store_from(args: argparse.Namespace) -> Storage:
    """The contributors store beside the drawings store named by the arguments."""
    if getattr(args, "contributors_bucket", None):
        return S3Storage(args.contributors_bucket)
    return LocalStorage(Path(getattr(args, "data", None) or "data") / "contributors")
