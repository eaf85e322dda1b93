"""``comnist list``: what the store holds, one line per drawing."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from chalicelib.keys import DRAWINGS_PREFIX, parse_drawing_key
from chalicelib.sanitizing import verdict_of
from chalicelib.storage import NotFound, Storage

from .stores import add_store_arguments, drawings_store_from


def describe(store: Storage, key: str) -> dict[str, Any] | None:
    """One drawing's row: identity, tags and the record's ``created`` and ``source``."""
    try:
        ref = parse_drawing_key(key)
        tags = store.get_tags(key)
    except (ValueError, NotFound):
        return None
    try:
        record = store.get_json(ref.record_key)
    except (NotFound, ValueError):
        record = {}
    return {
        "id": ref.id,
        "alphabet": ref.alphabet,
        "letter": ref.letter,
        "code_point": ref.code_point,
        "status": tags.get("status", "pending"),
        "verdict": verdict_of(store, key),
        "score": tags.get("score"),
        "reasons": tags.get("reasons"),
        "features": tags.get("features"),
        "model": tags.get("model"),
        "created": record.get("created"),
        "source": record.get("source"),
        "key": key,
    }


def iter_drawings(
    store: Storage, *, status: str | None = None, letter: str | None = None, workers: int = 8
) -> Iterator[dict[str, Any]]:
    """Yield the rows of stored drawings in key order, filtered by status and letter."""
    keys = (key for key in store.list_keys(DRAWINGS_PREFIX) if key.endswith(".png"))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for row in pool.map(lambda key: describe(store, key), keys):
            if row is None:
                continue
            if status and status not in (row["status"], row["verdict"]):
                continue
            if letter and letter not in (row["letter"], row["code_point"]):
                continue
            yield row


def format_row(row: dict[str, Any]) -> str:
    status = row["status"] + (f" ({row['verdict']})" if row["verdict"] else "")
    detail = row["score"] if row["score"] not in (None, "") else (row["features"] or "")
    return "\t".join(
        [row["id"], row["alphabet"], row["letter"], status, str(detail), row["created"] or "-"]
    )


def run_list(args: argparse.Namespace) -> int:
    store = drawings_store_from(args)
    try:
        for row in iter_drawings(store, status=args.status, letter=args.letter):
            line = json.dumps(row, ensure_ascii=False) if args.json else format_row(row)
            sys.stdout.write(line + "\n")
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader (``head``, a pager) has had enough; that is not an error.
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("list", help="list stored drawings, one line each")
    add_store_arguments(parser)
    parser.add_argument("--status", help="ok, suspicious, unscored, invalid, pending, rejected...")
    parser.add_argument("--letter", help="a letter (Ж) or its code point (U+0416)")
    parser.add_argument("--json", action="store_true", help="one JSON object per line")
    parser.set_defaults(run=run_list)
