"""The S3-event path: each new drawing PNG is scored and tagged, and counted in the stats.

Cloud and local runs share this code: S3 notifications reach it through ``app.on_new_drawing``,
and ``comnist serve`` builds the same event for the same handler after each stored drawing.
Redelivery is harmless, at the same moment or after a handler died half-way: tags are replaced
with the same values and :func:`chalicelib.stats.count_drawing` counts a drawing exactly once.
"""

from __future__ import annotations

import logging
from typing import Any

from .intake import utc_now
from .keys import parse_drawing_key
from .stats import count_drawing
from .storage import NotFound, Storage

log = logging.getLogger(__name__)


def tag_drawing(store: Storage, key: str) -> dict[str, str]:
    """Score the drawing at ``key`` with the sanitizer and write its tags; return them."""
    # Imported here: numpy comes with the sanitizer and only this path should pay for it.
    from . import sanitizing

    return sanitizing.tag_drawing(store, key)


def process_new_drawing(store: Storage, key: str) -> dict[str, Any]:
    """Handle one "object created" event for ``key``; never raises for bad or missing objects."""
    try:
        ref = parse_drawing_key(key)
    except ValueError:
        log.warning("ignoring an event for a key that is not a drawing: %r", key[:300])
        return {"key": key, "status": "ignored"}
    try:
        tags = tag_drawing(store, key)
    except NotFound:
        log.warning("drawing %s no longer exists; nothing to tag", key)
        return {"key": key, "status": "invalid", "reasons": "missing"}
    count_drawing(store, ref, utc_now())
    return {"key": key, **tags}
