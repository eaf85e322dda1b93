"""Drawings per letter, counted exactly once per drawing, and how many of them are accepted.

A drawing is *accepted* unless it is flagged: the maintainer's verdict ``ok`` accepts it,
``rejected`` does not; without a verdict, the sanitizer's status ``suspicious`` or ``invalid``
flags it. ``GET /stats`` and the site's community goal count accepted drawings only. Each
letter has a small counter object, ``stats/letters/<alphabet>/<U+XXXX>.json``, holding
``count`` (drawings) and ``accepted``; each drawing has a marker,
``counted/<alphabet>/<U+XXXX>/<id>.json``, holding whether the counter counts it accepted.

The event handler counts each new drawing; the rescore and the maintainer's verdicts change
whether it is accepted. Any of them may run several times for one drawing, at the same moment
or hours apart, and die between any two writes. Counts stay exact because each change of a
drawing's state (uncounted, accepted, not accepted) is made in three idempotent steps:

1. the letter's counter is updated by a conditional write (``If-Match`` on the ETag it was read
   with) that also records the drawing's new state in the counter's ``pending`` list;
2. the marker is written with the new state (conditionally on its own ETag);
3. the entry leaves ``pending`` (another conditional write).

Whoever finds a drawing pending finishes steps 2 and 3 before anything else, so a change is
applied to the counter once. The counter is read before the marker, so a writer that saw
neither a pending change nor its marker writes against an ETag that the change's step 3 has
since changed. The state wanted is read from the drawing's tags after the counter, and read
again once a change is done, so that of two writers of the tags, the last one's state wins.
Letters never contend with each other. An erased drawing leaves its count through
:func:`uncount_drawing`, which puts its id in the counter's ``forgotten`` list in the same
conditional write that takes it out: no handler, late or retried, counts it again.

``GET /stats`` reads one object, ``stats/summary.json``: every letter's counts and counter
revision. Whoever changes a counter puts the letter's new counts into it by a conditional write
that keeps the newer revision; the scheduled job rebuilds it from the counters.
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
    LETTER_COUNTERS_PREFIX,
    STATS_SUMMARY_KEY,
    DrawingRef,
    letter_counter_key,
    parse_counted_key,
    parse_drawing_key,
)
from .storage import NotFound, PreconditionFailed, Storage

MAX_ATTEMPTS = 30
MAX_BACKOFF_SECONDS = 1.0
READ_WORKERS = 16
# Attempts to put a letter's change into the summary before leaving it to the next change.
SUMMARY_ATTEMPTS = 10
FLAGGED = ("suspicious", "invalid")


def accepted(tags: dict[str, str]) -> bool:
    """Whether a drawing with these tags counts toward the goal: not flagged, or judged ``ok``."""
    verdict = tags.get("verdict")
    if verdict in ("ok", "rejected"):
        return verdict == "ok"
    return tags.get("status") not in FLAGGED


def _read_counter(store: Storage, key: str) -> tuple[dict[str, Any], str | None]:
    """The counter at ``key`` and its ETag (``None`` if it does not exist yet).

    Counters written before drawings could be flagged count every drawing accepted.
    """
    try:
        obj = store.get(key)
    except NotFound:
        return {"count": 0, "accepted": 0, "pending": [], "updated": None, "revision": 0}, None
    counter = json.loads(obj.data)
    counter.setdefault("accepted", counter.get("count", 0))
    counter.setdefault("revision", 0)
    # An id alone is a change recorded before the states: to counted, accepted.
    counter["pending"] = [
        entry if isinstance(entry, dict) else {"id": entry, "accepted": True}
        for entry in counter.get("pending", [])
    ]
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


def _read_marker(store: Storage, ref: DrawingRef) -> tuple[bool | None, str | None]:
    """``(counted accepted?, ETag)`` of a drawing's marker; ``(None, None)`` if uncounted.

    Markers written before the states count their drawing accepted.
    """
    try:
        obj = store.get(ref.counted_key)
    except NotFound:
        return None, None
    try:
        marker = json.loads(obj.data)
    except ValueError:
        marker = {}
    return bool(marker.get("accepted", True)) if isinstance(marker, dict) else True, obj.info.etag


def _back_off(attempt: int) -> None:
    time.sleep(random.uniform(0, min(MAX_BACKOFF_SECONDS, 0.005 * 2**attempt)))


def _tags(store: Storage, ref: DrawingRef) -> dict[str, str]:
    try:
        return store.get_tags(ref.png_key)
    except NotFound:
        return {}


def count_drawing(store: Storage, ref: DrawingRef, now: str) -> bool:
    """Count the drawing ``ref`` exactly once, accepted or not as its tags now say.

    Call it after every write of the drawing's tags (scoring, rescoring, a verdict). Returns
    whether this call added the drawing to its letter's count (``False`` when it was counted
    before, or by a concurrent call). Raises ``RuntimeError`` after ``MAX_ATTEMPTS`` lost races;
    calling again is safe.
    """
    key = letter_counter_key(ref.alphabet, ref.code_point)
    state, _ = _read_marker(store, ref)
    if state is not None and state == accepted(_tags(store, ref)):
        # Already counted so. A change under way to another state reads the tags once it is
        # done, and sees what this caller wrote before.
        return False
    added = False
    for attempt in range(MAX_ATTEMPTS):
        counter, etag = _read_counter(store, key)
        if ref.id in counter.get("forgotten", ()):  # erased: never counted again
            return False
        state, marker_etag = _read_marker(store, ref)
        pending = next((entry for entry in counter["pending"] if entry["id"] == ref.id), None)
        if pending is not None:
            _finish(store, key, ref, pending, marker_etag, now)
            continue
        wanted = accepted(_tags(store, ref))
        if state == wanted:
            return added
        counter["count"] += state is None
        counter["accepted"] += int(wanted) - int(bool(state))
        counter["pending"].append({"id": ref.id, "accepted": wanted})
        counter["updated"] = now
        counter["revision"] += 1
        if _write_counter(store, key, counter, etag):
            added = added or state is None
            _finish(store, key, ref, counter["pending"][-1], marker_etag, now)
            merge_into_summary(store, key, counter)
            continue
        _back_off(attempt)
    raise RuntimeError(f"could not count {ref.id}: too much contention on {key}")


def _finish(
    store: Storage,
    key: str,
    ref: DrawingRef,
    change: dict[str, Any],
    marker_etag: str | None,
    now: str,
) -> None:
    """Steps 2 and 3 of a change recorded in the counter: the marker, then out of ``pending``."""
    marker = {"counted": now, "accepted": bool(change["accepted"])}
    with contextlib.suppress(PreconditionFailed):
        if marker_etag is None:
            store.put_json(ref.counted_key, marker, if_none_match=True)
        else:
            store.put_json(ref.counted_key, marker, if_match=marker_etag)
    _settle(store, key, ref.id)


def _settle(store: Storage, key: str, drawing_id: str) -> None:
    """Remove ``drawing_id`` from the counter's pending list once its marker is written."""
    for attempt in range(MAX_ATTEMPTS):
        counter, etag = _read_counter(store, key)
        if not any(entry["id"] == drawing_id for entry in counter["pending"]):
            return
        counter["pending"] = [e for e in counter["pending"] if e["id"] != drawing_id]
        counter["revision"] += 1
        if _write_counter(store, key, counter, etag):
            return
        _back_off(attempt)
    # Left pending: harmless, the next count of this drawing finishes it.


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
        pending = next((entry for entry in counter["pending"] if entry["id"] == ref.id), None)
        # What the counter holds of it: a pending change's state, else its marker's.
        state = pending["accepted"] if pending is not None else _read_marker(store, ref)[0]
        if pending is not None or state is not None:
            counter["count"] = max(0, int(counter["count"]) - 1)
            counter["accepted"] = max(0, int(counter["accepted"]) - int(bool(state)))
            decremented = True
        counter["pending"] = [entry for entry in counter["pending"] if entry["id"] != ref.id]
        forgotten.append(ref.id)
        counter["updated"] = now
        counter["revision"] += 1
        if _write_counter(store, key, counter, etag):
            merge_into_summary(store, key, counter)
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


def _configured() -> list[tuple[str, str]]:
    return [(a.id, letter) for a in alphabets().values() for letter in a.letters]


def _summary_entry(counter_key: str) -> str:
    return counter_key.removeprefix(LETTER_COUNTERS_PREFIX).removesuffix(".json")


def _entry(counter: dict[str, Any]) -> dict[str, int]:
    return {
        "count": int(counter["count"]),
        "accepted": int(counter["accepted"]),
        "revision": int(counter["revision"]),
    }


def build_summary(store: Storage) -> dict[str, Any]:
    """Every configured letter's counts, read from the counters, with the revisions seen."""
    counters = letter_counts(store, _configured())
    return {
        "updated": max((c["updated"] for c in counters.values() if c.get("updated")), default=None),
        "letters": {f"{a}/{code_point(letter)}": _entry(c) for (a, letter), c in counters.items()},
    }


def rebuild_summary(store: Storage) -> dict[str, Any]:
    """Write the summary afresh from the counters (the scheduled job, after its late count)."""
    summary = build_summary(store)
    store.put_json(STATS_SUMMARY_KEY, summary)
    return summary


def merge_into_summary(store: Storage, counter_key: str, counter: dict[str, Any]) -> bool:
    """Put one letter's counter, as just written, into the summary; return whether it is in.

    A conditional write that keeps a newer revision of the letter already there. Letters share
    the summary, so a flood of changes may exhaust the attempts: the letter's next change, or
    the scheduled job's :func:`rebuild_summary`, brings it up to date.
    """
    name = _summary_entry(counter_key)
    for attempt in range(SUMMARY_ATTEMPTS):
        try:
            obj = store.get(STATS_SUMMARY_KEY)
            summary, etag = json.loads(obj.data), obj.info.etag
        except (NotFound, ValueError):
            summary, etag = build_summary(store), None
        letters = summary.setdefault("letters", {})
        if etag is not None and letters.get(name, {}).get("revision", -1) >= counter["revision"]:
            return True
        if letters.get(name, {}).get("revision", -1) < counter["revision"]:
            letters[name] = _entry(counter)
        summary["updated"] = max(filter(None, (summary.get("updated"), counter["updated"])))
        try:
            if etag is None:
                store.put_json(STATS_SUMMARY_KEY, summary, if_none_match=True)
            else:
                store.put_json(STATS_SUMMARY_KEY, summary, if_match=etag)
            return True
        except PreconditionFailed:
            _back_off(attempt)
    return False


def public_stats(store: Storage, goal: int) -> dict[str, Any]:
    """The ``GET /stats`` answer: every configured letter's accepted drawings, and the goal.

    One read, of the summary; a store without one yet (counted before summaries existed) is
    read letter by letter until its next count writes one.
    """
    try:
        summary = store.get_json(STATS_SUMMARY_KEY)
    except (NotFound, ValueError):
        summary = build_summary(store)
    counts = summary.get("letters", {})
    result: dict[str, Any] = {"goal": goal, "updated": summary.get("updated"), "alphabets": {}}
    for alphabet in alphabets().values():
        letters = {
            letter: int(counts.get(f"{alphabet.id}/{code_point(letter)}", {}).get("accepted", 0))
            for letter in alphabet.letters
        }
        result["alphabets"][alphabet.id] = {"total": sum(letters.values()), "letters": letters}
    return result
