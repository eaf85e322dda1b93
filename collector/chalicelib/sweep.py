"""The orphan sweep: what failed or abandoned uploads leave behind, removed after an hour.

A drawing is written as claim, record, then PNG, and the API never deletes (it may not). An upload
that fails half-way and is never retried leaves a claim, or a claim and a record, without a PNG.
Nothing reads them (every reader starts from the PNGs) and a retry with the same id finishes the
drawing, so they are harmless; after an hour no retry is in flight any more and the sweep removes
them. The scheduled ``sweep_orphans`` function runs it in the cloud, ``comnist serve`` locally.

The PNGs' ids are held in a set (about 100 MB at a million drawings); the claims and records are
streamed past it. Each candidate's PNG is looked up once more just before its partners go, so
that a retry finishing a drawing during the sweep keeps them.
PNGs are never removed here: a PNG is the drawing itself (imports and old collections may have no
record), and removing drawings is the maintainer's decision.
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta

from .keys import DRAWINGS_PREFIX, parse_drawing_key
from .limits import LIMITS_PREFIX, WINDOW
from .storage import ListedObject, LocalStorage, NotFound, Storage

ORPHAN_AGE_SECONDS = 3600
CLAIMS_PREFIX = "requests/"
RECORDS_PREFIX = "strokes/"
_CLAIM_KEY = re.compile(r"requests/(?P<id>[0-9a-f-]{36})\.json")
_RECORD_KEY = re.compile(
    r"strokes/(?P<alphabet>[a-z]{2,20})/(?P<cp>U\+[0-9A-F]{4,6})/(?P<id>[0-9a-f-]{36})\.json"
)
_SLOT_KEY = re.compile(
    r"limits/[0-9a-f-]{36}/[a-z]{2,20}/U\+[0-9A-F]{4,6}/(?P<window>\d{8}T\d{2})/\d+\.json"
)


def orphans(
    claims: Iterable[ListedObject],
    records: Iterable[ListedObject],
    drawing_ids: set[str],
    before: float,
) -> list[str]:
    """Keys of the claims and records written before ``before`` whose drawing has no PNG.

    Records come before claims, so that a sweep stopped half-way never leaves a record without
    the claim that leads a retry to it.
    """
    found_records, found_claims = [], []
    for listed, pattern, found in (
        (records, _RECORD_KEY, found_records),
        (claims, _CLAIM_KEY, found_claims),
    ):
        for item in listed:
            match = pattern.fullmatch(item.key)
            if match and match["id"] not in drawing_ids and item.modified < before:
                found.append(item.key)
    return found_records + found_claims


def drawing_ids(store: Storage) -> set[str]:
    """The ids of every drawing PNG, from one listing."""
    ids = set()
    for key in store.list_keys(DRAWINGS_PREFIX):
        with contextlib.suppress(ValueError):
            ids.add(parse_drawing_key(key).id)
    return ids


def png_key_of(orphan: str, store: Storage) -> str | None:
    """The PNG key that would make ``orphan`` (a claim or a record) whole again."""
    record = _RECORD_KEY.fullmatch(orphan)
    if record:
        return f"drawings/{record['alphabet']}/{record['cp']}/{record['id']}.png"
    try:
        key = store.get_json(orphan).get("key", "")
        parse_drawing_key(key)
        return key
    except (NotFound, ValueError, AttributeError):
        return None


def sweep_orphans(
    store: Storage,
    now: float | None = None,
    should_stop: Callable[[], bool] | None = None,
    age_seconds: int = ORPHAN_AGE_SECONDS,
) -> dict[str, int]:
    """Remove claims and records older than ``age_seconds`` whose drawing has no PNG; count them."""
    before = (time.time() if now is None else now) - age_seconds
    drawn = drawing_ids(store)
    claims = store.list_objects(CLAIMS_PREFIX)
    records = store.list_objects(RECORDS_PREFIX)
    removed = {"records": 0, "claims": 0}
    for key in orphans(claims, records, drawn, before):
        if should_stop and should_stop():
            break
        png = png_key_of(key, store)
        if png is not None and store.exists(png):
            continue  # finished by a retry since the listing
        store.delete(key)
        removed["records" if key.startswith(RECORDS_PREFIX) else "claims"] += 1
    return removed


def expired_slots(keys: Iterable[str], now: datetime, keep: timedelta = WINDOW) -> list[str]:
    """The cap's slots whose hour ended more than ``keep`` before ``now``."""
    expired = []
    for key in keys:
        match = _SLOT_KEY.fullmatch(key)
        if match:
            start = datetime.strptime(match["window"], "%Y%m%dT%H").replace(tzinfo=UTC)
            if start + WINDOW + keep < now:
                expired.append(key)
    return expired


def sweep_local(store: LocalStorage, now: float | None = None) -> dict[str, int]:
    """The local sweep: orphans, the cap's old slots (a bucket's lifecycle rule removes those)
    and the files of interrupted writes."""
    now = time.time() if now is None else now
    removed = sweep_orphans(store, now)
    slots = expired_slots(store.list_keys(LIMITS_PREFIX), datetime.fromtimestamp(now, UTC))
    for key in slots:
        store.delete(key)
    removed["slots"] = len(slots)
    removed["partial_writes"] = store.remove_partial_writes(now - ORPHAN_AGE_SECONDS)
    return removed
