"""Accepting drawings and contributor records: the work behind ``POST /drawings`` and ``POST /contributors``.

A drawing is written in three steps: the idempotency claim ``requests/<id>.json`` (a conditional
write, so that two requests with one id cannot both claim it), the record, then the PNG. The PNG
comes last because its creation is what makes the drawing exist: it fires the sanitizer event and
is what listings and releases read. It is created conditionally (``If-None-Match: *``), so that of
identical requests racing each other exactly one writes it and answers 201; the others answer 200,
and no second write can strip the PNG's tags or fire a second event. If storage fails half-way,
what was written is removed again and the client is told to retry; a retry with the same id and
body finishes the job.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from .keys import DrawingRef, contributor_created_key, contributor_key, request_key
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
        # The claim vanished between the two calls (a failed attempt cleaned up): claim again.
        store.put_json(request_key(drawing_id), claim, if_none_match=True)
        return claim, True
    if existing.get("body_sha256") != digest:
        raise ApiError(409, "a different drawing was already stored under this id; use a new id")
    return existing, False


def store_drawing(
    store: Storage, ref: DrawingRef, png: bytes, record: dict[str, Any], *, release_claim: bool
) -> bool:
    """Write a drawing's record, then create its PNG; return whether this call created the PNG.

    Both writes are conditional: a record or PNG already written by an identical request is kept
    as it is. On failure, a request that made the claim (``release_claim``) removes what it wrote
    and the claim. A replay that found the claim removes nothing: the request that owns the claim
    writes the same objects, and may already have written them.
    """
    try:
        with contextlib.suppress(PreconditionFailed):
            store.put_json(ref.record_key, record, if_none_match=True)
        try:
            store.put(ref.png_key, png, content_type="image/png", if_none_match=True)
        except PreconditionFailed:
            return False
        return True
    except StorageUnavailable:
        if release_claim:
            for key in (ref.png_key, ref.record_key, request_key(ref.id)):
                with contextlib.suppress(Exception):
                    store.delete(key)
        raise


def submit_drawing(
    store: Storage, drawing: Drawing, *, country: str | None = None, now: str | None = None
) -> tuple[int, dict[str, str]]:
    """Store a validated drawing once; return ``(201, answer)`` or ``(200, answer)`` for a replay."""
    ref = DrawingRef(drawing.alphabet, drawing.letter, drawing.id)
    answer = {"id": drawing.id, "alphabet": drawing.alphabet, "letter": drawing.letter}
    canonical = drawing.canonical()
    digest = body_digest(canonical)
    try:
        claim, created_claim = claim_id(store, drawing.id, digest, ref.png_key, now or utc_now())
        if not created_claim and store.exists(ref.png_key):
            return 200, answer
        record = {
            **canonical,
            "code_point": ref.code_point,
            "created": claim["created"],
            "country": country,
            "source": None,
            "body_sha256": digest,
        }
        png = render_png(drawing.strokes, drawing.canvas_width, drawing.canvas_height)
        created = store_drawing(store, ref, png, record, release_claim=created_claim)
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
