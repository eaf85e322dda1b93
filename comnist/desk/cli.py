"""The command-line ends of the desk: ``comnist review --serve | --reindex`` and ``comnist report``."""

from __future__ import annotations

import argparse
import json
import shutil
import time
from collections.abc import Callable
from pathlib import Path

from chalicelib import flagged
from chalicelib.config import community_goal
from chalicelib.storage import Storage

from ..progress import Progress
from .collection import FactsCache, default_cache_path, gather, summary
from .report_page import render
from .server import STATIC

REPORT_CSS = "report.css"


def reindex(store: Storage) -> int:
    """``comnist review --reindex``: rebuild the review queue from the drawings' tags."""
    print(json.dumps(flagged.rebuild(store)))
    return 0


def collection_summary(store: Storage, goal: int, cache_path: Path | None) -> dict:
    cache = FactsCache(cache_path)
    with Progress(None, "reading new drawings' records", unit="records") as progress:
        collection = gather(store, goal, cache, progress=progress.advance)
    return summary(collection)


def glance_page(store: Storage, goal: int, cache_path: Path | None) -> Callable[[], str]:
    """The desk's "at a glance" page, counted afresh at each view (the cache keeps it quick)."""
    return lambda: render(collection_summary(store, goal, cache_path), "/static/desk.css", True)


def cache_path_from(args: argparse.Namespace, store: Storage) -> Path | None:
    if getattr(args, "no_cache", False):
        return None
    return getattr(args, "cache", None) or default_cache_path(store)


def serve_desk(store: Storage, args: argparse.Namespace) -> int:
    """``comnist review --serve``."""
    from .server import serve

    goal = getattr(args, "goal", None) or community_goal()
    serve(store, args.port, glance=glance_page(store, goal, cache_path_from(args, store)))
    return 0


def write_report(store: Storage, out: Path, goal: int, cache_path: Path | None) -> dict:
    """Write ``index.html``, its stylesheet and ``summary.json`` into ``out``; return the summary."""
    numbers = collection_summary(store, goal, cache_path)
    out.mkdir(parents=True, exist_ok=True)
    (out / "index.html").write_text(render(numbers, REPORT_CSS), encoding="utf-8")
    shutil.copyfile(STATIC / "desk.css", out / REPORT_CSS)
    (out / "summary.json").write_text(
        json.dumps(numbers, ensure_ascii=False, indent=1), encoding="utf-8"
    )
    return numbers


def run_report(args: argparse.Namespace) -> int:
    from ..stores import drawings_store_from

    store = drawings_store_from(args)
    started = time.monotonic()
    numbers = write_report(
        store, args.out, args.goal or community_goal(), cache_path_from(args, store)
    )
    print(
        f"{args.out / 'index.html'}: {numbers['total']:,} drawings, "
        f"{numbers['records_read']:,} records read, {time.monotonic() - started:.1f} s"
    )
    return 0
