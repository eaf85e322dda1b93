"""The per-session cap: at most N new drawings per session, letter and clock hour (UTC).

Each admitted drawing takes one numbered slot::

    limits/<session>/<alphabet>/<U+XXXX>/<YYYYMMDDTHH>/<k>.json     k = 0 .. N-1

created with ``If-None-Match: *`` and never rewritten. Slots fill from 0 up, so a request finds
the first free one by looking up a few of them (the last one first: a session over its cap costs
one GET of a few bytes; then a binary search, five GETs for N = 20), then creates it; of requests
racing for a slot exactly one creates it and the others move on to the next. The key space holds
N slots, so N is a hard cap whatever the concurrency, and no object is read, changed and written
back by every request: there is no counter to contend on. A slot names the drawing that took it, so identical requests
racing for one slot all pass on it. Old slots are removed by the drawings bucket's lifecycle
rule (``comnist bootstrap``), and by the orphan sweep in ``comnist serve``.
"""

from __future__ import annotations

import math
import uuid
from datetime import UTC, datetime, timedelta

from .keys import DrawingRef
from .storage import NotFound, PreconditionFailed, Storage
from .validation import ApiError

LIMITS_PREFIX = "limits/"
# A person drawing for an hour sees each letter a few times; a script sees the same one hundreds.
DEFAULT_PER_HOUR = 20
WINDOW = timedelta(hours=1)


def window_of(moment: datetime) -> tuple[str, datetime]:
    """The clock hour that holds ``moment``: its label ``YYYYMMDDTHH`` and its end."""
    start = moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    return start.strftime("%Y%m%dT%H"), start + WINDOW


def slots_prefix(session: str, ref: DrawingRef, window: str) -> str:
    """Where the slots of one session, letter and hour live."""
    return f"{LIMITS_PREFIX}{uuid.UUID(session)}/{ref.alphabet}/{ref.code_point}/{window}/"


def slot_key(prefix: str, slot: int) -> str:
    return f"{prefix}{slot:05d}.json"


def taken(store: Storage, key: str) -> bool:
    """Whether the slot ``key`` exists. A GET, not a HEAD: IAM lets a reader of missing keys
    (``s3:ListBucket``) see a 404 for either, and some emulators answer a HEAD 403."""
    try:
        store.get(key)
        return True
    except NotFound:
        return False


def first_free(store: Storage, prefix: str, per_hour: int) -> int:
    """The lowest slot under ``prefix`` that looks free (``per_hour`` if the last one is taken)."""
    if taken(store, slot_key(prefix, per_hour - 1)):
        return per_hour
    low, high = 0, per_hour - 1  # slots below ``low`` are taken, ``high`` is free
    while low < high:
        middle = (low + high) // 2
        if taken(store, slot_key(prefix, middle)):
            low = middle + 1
        else:
            high = middle
    return low


def too_many(per_hour: int, until: datetime, moment: datetime) -> ApiError:
    """The 429 answer: how many this session may send, and when it may send again."""
    wait = max(1, math.ceil((until - moment).total_seconds()))
    return ApiError(
        429,
        f"this session has sent {per_hour} drawings of this letter this hour; "
        "keep the drawing and send it again after Retry-After seconds",
        {"Retry-After": str(wait)},
    )


def admit(store: Storage, session: str, ref: DrawingRef, moment: datetime, per_hour: int) -> str:
    """Take a slot for drawing ``ref.id`` of ``session``; return its key, or raise a 429 :class:`ApiError`."""
    window, until = window_of(moment)
    prefix = slots_prefix(session, ref, window)
    for slot in range(first_free(store, prefix, per_hour), per_hour):
        key = slot_key(prefix, slot)
        try:
            store.put_json(key, {"id": ref.id}, if_none_match=True)
            return key
        except PreconditionFailed:
            pass
        try:
            if store.get_json(key).get("id") == ref.id:
                return key  # an identical request took this slot a moment ago
        except NotFound:  # expired between the two calls: the next slot will do
            continue
    raise too_many(per_hour, until, moment)
