"""The per-session cap: at most N new drawings per session, letter and clock hour (UTC).

Each admitted drawing takes one numbered slot::

    limits/<session>/<alphabet>/<U+XXXX>/<YYYYMMDDTHH>/<k>.json     k = 0 .. N-1

created with ``If-None-Match: *`` and never rewritten. A request lists the hour's slots (one
small listing), then tries to create the next free one; of requests racing for a slot exactly
one creates it and the others move on to the next. The key space holds N slots, so N is a hard
cap whatever the concurrency, and no object is read, changed and written back by every request:
there is no counter to contend on. A slot names the drawing that took it, so identical requests
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
    taken = sum(1 for _ in store.list_keys(prefix))
    for slot in range(min(taken, per_hour), per_hour):
        key = f"{prefix}{slot:05d}.json"
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
