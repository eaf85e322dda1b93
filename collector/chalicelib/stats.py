"""Drawings per letter, counted exactly once per drawing, in one small counter object per letter.

The event handler counts each drawing. It may run several times for one drawing, at the same
moment or hours apart (S3 delivers events at least once, Lambda retries a handler that failed),
and may die between any two writes. Counting stays exactly once because it is done in three
idempotent steps:

1. the letter's counter ``stats/letters/<alphabet>/<U+XXXX>.json`` is incremented by a
   conditional write (``If-Match`` on the ETag it was read with) that also puts the drawing's id
   in the counter's ``pending`` list; it is skipped when the id is already pending or the
   drawing's marker exists;
2. the marker ``counted/<alphabet>/<U+XXXX>/<id>.json`` is created (``If-None-Match: *``): from
   then on the drawing is counted for good;
3. the id leaves ``pending`` (another conditional write).

A handler that dies after step 1 leaves the id pending, so its retry resumes at step 2 without
counting again; one that dies after step 2 finds the marker. An erased drawing leaves its count
through :func:`uncount_drawing`, which puts its id in the counter's ``forgotten`` list in the
same conditional write that decrements: no handler, late or retried, counts it again. The counter is read before the
marker is checked, so a handler that saw neither the marker nor the pending id writes against an
ETag that any finished step 3 has since changed. Letters never contend with each other: a burst
of many letters writes many counters. ``GET /stats`` reads the counters, never a listing.
"""

from __future__ import annotations

import contextlib
import json
import random
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from .alphabets import alphabets, code_point
from .keys import (
    COUNTED_PREFIX,
    DRAWINGS_PREFIX,
    DrawingRef,
    letter_counter_key,
    parse_counted_key,
    parse_drawing_key,
)
from .storage import NotFound, PreconditionFailed, Storage

MAX_ATTEMPTS = 30
MAX_BACKOFF_SECONDS = 1.0
READ_WORKERS = 16


def _read_counter(store: Storage, key: str) -> tuple[dict[str, Any], str | None]:
    """The counter at ``key`` and its ETag (``None`` if it does not exist yet)."""
    try:
        obj = store.get(key)
    except NotFound:
        return {"count": 0, "pending": [], "updated": None}, None
    counter = json.loads(obj.data)
    counter.setdefault("pending", [])
    return counter, obj.info.etag


def _write_counter(store: Storage, key: str, counter: dict[str, Any], etag: str | None) -> bool:
    """Write ``counter`` if the object is still at ``etag``; return whether it was written."""
    try:
        if etag is None:
            store.put_json(key, counter, if_none_match=True)
        else:
            store.put_json(key, counter, if_match=etag)
        return True
    except PreconditionFailed:
        return False


def _back_off(attempt: int) -> None:
    time.sleep(random.uniform(0, min(MAX_BACKOFF_SECONDS, 0.005 * 2**attempt)))


def count_drawing(store: Storage, ref: DrawingRef, now: str) -> bool:
    """Count the drawing ``ref`` in its letter's counter exactly once.

    Returns whether this call added it (``False`` when an earlier or concurrent call did).
    Raises ``RuntimeError`` after ``MAX_ATTEMPTS`` lost races; calling again is safe.
    """
    key = letter_counter_key(ref.alphabet, ref.code_point)
    for attempt in range(MAX_ATTEMPTS):
        counter, etag = _read_counter(store, key)
        if ref.id in counter.get("forgotten", ()):  # erased: never counted again
            return False
        pending = ref.id in counter["pending"]
        if store.exists(ref.counted_key):
            if pending:  # an earlier handler died between its marker and step 3
                _settle(store, key, ref.id)
            return False
        if pending:  # an earlier handler died between step 1 and its marker
            break
        counter["count"] += 1
        counter["pending"].append(ref.id)
        counter["updated"] = now
        if _write_counter(store, key, counter, etag):
            break
        _back_off(attempt)
    else:
        raise RuntimeError(f"could not count {ref.id}: too much contention on {key}")
    with contextlib.suppress(PreconditionFailed):
        store.put_json(ref.counted_key, {"counted": now}, if_none_match=True)
    _settle(store, key, ref.id)
    return not pending


def _settle(store: Storage, key: str, drawing_id: str) -> None:
    """Remove ``drawing_id`` from the counter's pending list once its marker exists."""
    for attempt in range(MAX_ATTEMPTS):
        counter, etag = _read_counter(store, key)
        if drawing_id not in counter["pending"]:
            return
        counter["pending"] = [pending for pending in counter["pending"] if pending != drawing_id]
        if _write_counter(store, key, counter, etag):
            return
        _back_off(attempt)
    # Left pending: harmless, the next count or recount of this drawing settles it.


def uncount_drawing(store: Storage, ref: DrawingRef, now: str) -> bool:
    """Take the erased drawing ``ref`` out of its letter's counter exactly once; remove its marker.

    One conditional write decrements the counter if the drawing is in it (its marker exists or
    its id is pending) and adds the id to ``forgotten``, which :func:`count_drawing` honours, so a
    handler racing the erasure either wrote first (and is decremented here) or sees the id
    forgotten. A retry finds the id forgotten and only removes the marker again. Returns whether
    this call decremented. Raises ``RuntimeError`` after ``MAX_ATTEMPTS`` lost races.
    """
    key = letter_counter_key(ref.alphabet, ref.code_point)
    decremented = False
    for attempt in range(MAX_ATTEMPTS):
        counter, etag = _read_counter(store, key)
        forgotten = counter.setdefault("forgotten", [])
        if ref.id in forgotten:
            break
        if ref.id in counter["pending"] or store.exists(ref.counted_key):
            counter["count"] = max(0, int(counter["count"]) - 1)
            decremented = True
        counter["pending"] = [pending for pending in counter["pending"] if pending != ref.id]
        forgotten.append(ref.id)
        counter["updated"] = now
        if _write_counter(store, key, counter, etag):
            break
        decremented = False
        _back_off(attempt)
    else:
        raise RuntimeError(f"could not uncount {ref.id}: too much contention on {key}")
    store.erase(ref.counted_key)
    return decremented


def counted_ids(store: Storage) -> set[str]:
    """The ids of the drawings that have a count marker, from one listing."""
    ids = set()
    for key in store.list_keys(COUNTED_PREFIX):
        try:
            ids.add(parse_counted_key(key).id)
        except ValueError:
            continue
    return ids


def count_uncounted(store: Storage, now: str, should_stop: Callable[[], bool] | None = None) -> int:
    """Count every stored drawing that has no count marker yet; return how many were added.

    The scheduled job runs this: it catches drawings whose events never arrived (a local store
    filled without ``comnist serve``, collections from before the markers) and handlers that died
    half-way. It goes through :func:`count_drawing`, so it never counts a drawing twice and never
    overwrites what concurrent handlers count; stopped by ``should_stop``, the next run goes on.
    """
    counted = counted_ids(store)
    added = 0
    for key in store.list_keys(DRAWINGS_PREFIX):
        try:
            ref = parse_drawing_key(key)
        except ValueError:
            continue
        if ref.id not in counted:
            if should_stop and should_stop():
                break
            added += count_drawing(store, ref, now)
    return added


def letter_counts(
    store: Storage, letters: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], dict]:
    """The counters of ``(alphabet, letter)`` pairs, read in parallel; missing ones count zero."""
    pairs = list(letters)

    def read(pair: tuple[str, str]) -> dict[str, Any]:
        return _read_counter(store, letter_counter_key(pair[0], code_point(pair[1])))[0]

    with ThreadPoolExecutor(READ_WORKERS) as pool:
        return dict(zip(pairs, pool.map(read, pairs), strict=True))


def public_stats(store: Storage, goal: int) -> dict[str, Any]:
    """The ``GET /stats`` answer: every configured letter with its count (zeros included) and the goal."""
    configured = [(a.id, letter) for a in alphabets().values() for letter in a.letters]
    counters = letter_counts(store, configured)
    updated = max((c["updated"] for c in counters.values() if c.get("updated")), default=None)
    result: dict[str, Any] = {"goal": goal, "updated": updated, "alphabets": {}}
    for alphabet in alphabets().values():
        letters = {
            letter: int(counters[(alphabet.id, letter)]["count"]) for letter in alphabet.letters
        }
        result["alphabets"][alphabet.id] = {"total": sum(letters.values()), "letters": letters}
    return result
