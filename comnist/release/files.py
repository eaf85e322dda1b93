"""File output shared by the release writers: atomic files, reproducible gzip, ordered parallel map.

Everything a release writes goes through a temporary name renamed into place only when complete,
so an interrupted export never leaves a truncated file under a release name.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, BinaryIO, TypeVar

T = TypeVar("T")
R = TypeVar("R")


@contextlib.contextmanager
def atomic_file(path: Path) -> Iterator[BinaryIO]:
    """Write ``path`` through a temporary file renamed into place only when the block succeeds."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        with open(tmp, "wb") as handle:
            yield handle
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def write_new_file(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` (whose folder exists) atomically: a temporary name, then a rename."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def gzip_writer(raw: BinaryIO) -> gzip.GzipFile:
    """A gzip stream with no file name and ``mtime=0``, so equal content gives equal bytes."""
    return gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=6, mtime=0)


def sha256_file(path: Path) -> str:
    """The SHA-256 of a file's bytes, read a megabyte at a time."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def folder_files(root: Path, folder: str) -> Iterator[str]:
    """The files under ``root/folder`` as ``/``-paths in byte order, one directory in memory at a time.

    Hidden names (temporary files) are skipped.
    """

    def walk(relative: str) -> Iterator[str]:
        with os.scandir(root / relative) as entries:
            names = sorted(
                (e.name + "/" if e.is_dir() else e.name, e.is_dir())
                for e in entries
                if not e.name.startswith(".")
            )
        for name, is_dir in names:
            if is_dir:
                yield from walk(f"{relative}/{name[:-1]}")
            else:
                yield f"{relative}/{name}"

    yield from walk(folder)


def ordered_map(
    function: Callable[[T], R], items: Iterable[T], workers: int, window: int
) -> Iterator[R]:
    """``map`` on a thread pool that yields in input order with at most ``window`` items in flight."""
    with ThreadPoolExecutor(max_workers=workers) as pool:
        pending: deque[Any] = deque()
        for item in items:
            pending.append(pool.submit(function, item))
            if len(pending) >= window:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
