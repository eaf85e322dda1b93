"""Drawings per letter, kept in one small object so that ``GET /stats`` never lists the bucket.

The event handler counts each drawing when it tags it for the first time; the count object is
updated with an optimistic ``If-Match`` write so concurrent Lambdas do not lose increments.
:func:`rebuild_counts` recomputes it from a listing (run by ``comnist rescore``).
"""

from __future__ import annotations

import json
import random
import time
from typing import Any

from .alphabets import alphabets
from .keys import DRAWINGS_PREFIX, STATS_KEY, parse_drawing_key
from .storage import NotFound, PreconditionFailed, Storage

MAX_ATTEMPTS = 12


def _read(store: Storage) -> tuple[dict[str, Any], str | None]:
    try:
        obj = store.get(STATS_KEY)
    except NotFound:
        return {"counts": {}, "updated": None}, None
    return json.loads(obj.data), obj.info.etag


def count_drawing(store: Storage, alphabet: str, letter: str, now: str) -> None:
    """Add one drawing of ``letter`` to the counts; retries on concurrent updates."""
    for attempt in range(MAX_ATTEMPTS):
        stats, etag = _read(store)
        letters = stats["counts"].setdefault(alphabet, {})
        letters[letter] = letters.get(letter, 0) + 1
        stats["updated"] = now
        try:
            if etag is None:
                store.put_json(STATS_KEY, stats, if_none_match=True)
            else:
                store.put_json(STATS_KEY, stats, if_match=etag)
            return
        except PreconditionFailed:
            time.sleep(random.uniform(0, 0.02 * 2**attempt))
    raise RuntimeError("could not update the drawing counts: too much contention")


def rebuild_counts(store: Storage, now: str) -> dict[str, dict[str, int]]:
    """Recount every stored drawing from a listing and write the counts; return them."""
    counts: dict[str, dict[str, int]] = {}
    for key in store.list_keys(DRAWINGS_PREFIX):
        try:
            ref = parse_drawing_key(key)
        except ValueError:
            continue
        letters = counts.setdefault(ref.alphabet, {})
        letters[ref.letter] = letters.get(ref.letter, 0) + 1
    store.put_json(STATS_KEY, {"counts": counts, "updated": now})
    return counts


def public_stats(store: Storage, goal: int) -> dict[str, Any]:
    """The ``GET /stats`` answer: every configured letter with its count (zeros included) and the goal."""
    stats, _ = _read(store)
    result: dict[str, Any] = {"goal": goal, "updated": stats.get("updated"), "alphabets": {}}
    for alphabet in alphabets().values():
        stored = stats["counts"].get(alphabet.id, {})
        letters = {letter: int(stored.get(letter, 0)) for letter in alphabet.letters}
        result["alphabets"][alphabet.id] = {"total": sum(letters.values()), "letters": letters}
    return result
