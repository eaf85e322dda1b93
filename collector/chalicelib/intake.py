"""Accepting drawings and contributor records: the work behind ``POST /drawings`` and ``POST /contributors``.

A new drawing first takes a slot of its session's hourly cap (:mod:`chalicelib.limits`; beyond
the cap the answer is 429). It is then written in three steps: the idempotency claim
``requests/<id>.json`` (a conditional write, so that two requests with one id cannot both claim
it), the record, then the PNG. The PNG comes last because its creation is what makes the drawing
exist: it fires the sanitizer event and is what listings and releases read. It is created
conditionally (``If-None-Match: *``), so that of identical requests racing each other exactly one
writes it and answers 201; the others answer 200, and no second write can strip the PNG's tags or
fire a second event.

Nothing is ever deleted here (the API may not delete). A request whose id is already claimed by
the same body is a replay: it takes no slot, and finishes what an earlier attempt left undone. If
storage fails half-way, the client is told to retry (503); the retry with the same id and body
finishes the job. A claim or record whose PNG never comes is an orphan, invisible to every reader
(they all start from the PNGs), which :mod:`chalicelib.sweep` removes after an hour.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from .keys import DrawingRef, contributor_created_key, contributor_key, request_key
from .limits import DEFAULT_PER_HOUR, admit
from .raster import render_png
from .storage import NotFound, PreconditionFailed, Storage, StorageUnavailable
from .validation import ApiError, Contributor, Drawing

RETRY_AFTER_SECONDS = 5


def utc_now() -> str:
    """The current UTC time as ISO 8601 with milliseconds and a ``Z``."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def body_digest(value: Any) -> str:
    """SHA-256 of the canonical JSON of ``value``: equal for equal content whatever the formatting."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def unavailable() -> ApiError:
    return ApiError(
        503,
        "storage is unavailable right now; nothing was stored, retry with the same id",
        {"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


def claim_id(
    store: Storage, drawing_id: str, digest: str, png_key: str, now: str
) -> tuple[dict[str, Any], bool]:
    """Claim ``drawing_id`` for the body with ``digest``.

    Returns the claim and whether this call created it. Raises :class:`ApiError` 409 when the
    id was claimed by a different body.
    """
    claim = {"body_sha256": digest, "key": png_key, "created": now}
    try:
        store.put_json(request_key(drawing_id), claim, if_none_match=True)
        return claim, True
    except PreconditionFailed:
        pass
    try:
        existing = store.get_json(request_key(drawing_id))
    except NotFound:
        # The claim vanished between the two calls (the sweep took an old orphan): claim again.
        store.put_json(request_key(drawing_id), claim, if_none_match=True)
        return claim, True
    return check_claim(existing, digest), False


def check_claim(claim: dict[str, Any], digest: str) -> dict[str, Any]:
    """Return ``claim`` if it was made for the body with ``digest``, else raise a 409."""
    if claim.get("body_sha256") != digest:
        raise ApiError(409, "a different drawing was already stored under this id; use a new id")
    return claim


def existing_claim(store: Storage, drawing_id: str) -> dict[str, Any] | None:
    """The claim on ``drawing_id``, or ``None`` if the id is new."""
    try:
        return store.get_json(request_key(drawing_id))
    except NotFound:
        return None


def store_drawing(store: Storage, ref: DrawingRef, png: bytes, record: dict[str, Any]) -> bool:
    """Write a drawing's record, then create its PNG; return whether this call created the PNG.

    Both writes are conditional: a record or PNG already written by an identical request is kept
    as it is. A failure leaves what was written for the retry to finish (or the sweep to remove).
    """
    with contextlib.suppress(PreconditionFailed):
        store.put_json(ref.record_key, record, if_none_match=True)
    try:
        store.put(ref.png_key, png, content_type="image/png", if_none_match=True)
    except PreconditionFailed:
        return False
    return True


def parse_time(value: str) -> datetime:
    """The moment of an ISO 8601 time such as :func:`utc_now` gives."""
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def submit_drawing(
    store: Storage,
    drawing: Drawing,
    *,
    country: str | None = None,
    now: str | None = None,
    per_hour: int = DEFAULT_PER_HOUR,
) -> tuple[int, dict[str, str]]:
    """Store a validated drawing once; return ``(201, answer)`` or ``(200, answer)`` for a replay.

    Raises :class:`ApiError` 409 (the id holds another drawing), 429 (the session's cap for this
    letter and hour is reached; replays are never refused) or 503 (storage failed; retry).
    """
    ref = DrawingRef(drawing.alphabet, drawing.letter, drawing.id)
    answer = {"id": drawing.id, "alphabet": drawing.alphabet, "letter": drawing.letter}
    canonical = drawing.canonical()
    digest = body_digest(canonical)
    now = now or utc_now()
    try:
        claim = existing_claim(store, drawing.id)
        if claim is not None:
            check_claim(claim, digest)
            if store.exists(ref.png_key):
                return 200, answer
        else:
            admit(store, drawing.session, ref, parse_time(now), per_hour)
            claim, _ = claim_id(store, drawing.id, digest, ref.png_key, now)
        record = {
            **canonical,
            "code_point": ref.code_point,
            "created": claim["created"],
            "country": country,
            "source": None,
            "body_sha256": digest,
        }
        png = render_png(drawing.strokes, drawing.canvas_width, drawing.canvas_height)
        created = store_drawing(store, ref, png, record)
    except StorageUnavailable:
        raise unavailable() from None
    return (201 if created else 200), answer


def submit_contributor(
    store: Storage, contributor: Contributor, *, now: str | None = None
) -> tuple[int, dict[str, str]]:
    """Store or update a session's contributor record; return ``(201|200, {"session": ...})``.

    A retry replaces the record of its session, so it never creates a second one. Nothing is
    read back: the API may only write personal data, never read it. The session's first record
    is told apart by a write-once marker beside it that keeps its creation time.
    """
    now = now or utc_now()
    session = contributor.session
    try:
        try:
            store.put_json(
                contributor_created_key(session),
                {"session": session, "created": now},
                if_none_match=True,
            )
            status = 201
        except PreconditionFailed:
            status = 200
        store.put_json(
            contributor_key(session),
            {
                "session": session,
                "name": contributor.name,
                "email": contributor.email,
                "consent": {"thanks_page": contributor.thanks_page, "updates": contributor.updates},
                "count": contributor.count,
                "updated": now,
            },
        )
    except StorageUnavailable:
        raise unavailable() from None
    return status, {"session": session}
