"""The object-key layout of the drawings and contributors buckets.

Drawings bucket::

    drawings/<alphabet>/<U+XXXX>/<id>.png   278x278 RGBA PNG; its creation fires the sanitizer
    strokes/<alphabet>/<U+XXXX>/<id>.json   the drawing's record: strokes, canvas, device, created...
    requests/<id>.json                      idempotency claim: body hash and the PNG's key
    stats/counts.json                       drawings per letter, kept by the event handler
    models/current.json                     pointer to the sanitizer model in force
    models/<version>.json                   sanitizer models, versioned JSON

Contributors bucket (private, never listed by any route)::

    contributors/<session>.json             name, e-mail and consents of one session
    created/<session>.json                  when the session first sent its record (write-once)

Every key is built from validated values (alphabet ids, code points, UUIDs) and checked again by
:func:`chalicelib.storage.check_key`.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

from .alphabets import code_point, letter_from_code_point

DRAWINGS_PREFIX = "drawings/"
DRAWING_SUFFIX = ".png"
STATS_KEY = "stats/counts.json"
MODELS_CURRENT_KEY = "models/current.json"

_DRAWING_KEY = re.compile(
    r"^drawings/(?P<alphabet>[a-z]{2,20})/(?P<cp>U\+[0-9A-F]{4,6})/"
    r"(?P<id>[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.png$"
)


@dataclass(frozen=True)
class DrawingRef:
    """Names one stored drawing: alphabet id, letter and drawing id."""

    alphabet: str
    letter: str
    id: str

    @property
    def code_point(self) -> str:
        return code_point(self.letter)

    @property
    def png_key(self) -> str:
        return f"drawings/{self.alphabet}/{self.code_point}/{self.id}.png"

    @property
    def record_key(self) -> str:
        return f"strokes/{self.alphabet}/{self.code_point}/{self.id}.json"


def parse_drawing_key(key: str) -> DrawingRef:
    """Return the :class:`DrawingRef` of a drawing PNG key, or raise ``ValueError``."""
    match = _DRAWING_KEY.match(key)
    if not match:
        raise ValueError(f"not a drawing key: {key!r}")
    letter = letter_from_code_point(match["cp"])
    return DrawingRef(match["alphabet"], letter, match["id"])


def request_key(drawing_id: str) -> str:
    """Key of the idempotency claim of a drawing id (a canonical UUID)."""
    return f"requests/{uuid.UUID(drawing_id)}.json"


def contributor_key(session: str) -> str:
    """Key of a session's contributor record in the contributors bucket."""
    return f"contributors/{uuid.UUID(session)}.json"


def contributor_created_key(session: str) -> str:
    """Key of the write-once marker that keeps when a session's contributor record was created."""
    return f"created/{uuid.UUID(session)}.json"


def model_key(version: str) -> str:
    """Key of one model version; versions are ``[A-Za-z0-9._-]`` strings."""
    if not re.fullmatch(r"[A-Za-z0-9._-]{1,64}", version):
        raise ValueError(f"invalid model version {version!r}")
    return f"models/{version}.json"
