"""The object-key layout of the drawings and contributors buckets.

Drawings bucket::

    drawings/<alphabet>/<U+XXXX>/<id>.png   278x278 RGBA PNG; its creation fires the sanitizer
    strokes/<alphabet>/<U+XXXX>/<id>.json   the drawing's record: strokes, canvas, device, created...
    requests/<id>.json                      idempotency claim: body hash and the PNG's key
    counted/<alphabet>/<U+XXXX>/<id>.json   marker: this drawing is in its letter's counter
    stats/letters/<alphabet>/<U+XXXX>.json  drawings of one letter, kept by the event handler
    verdicts/<alphabet>/<U+XXXX>/<id>.json  the maintainer's verdict on one drawing
    flagged/<alphabet>/<U+XXXX>/<rank[:6]>/<rank>_<id>_<reasons>.json
                                            review queue marker (:mod:`chalicelib.flagged`)
    models/current.json                     pointer to the sanitizer model in force
    models/<version>.json                   sanitizer models, versioned JSON
    models/sampling/start.json              where each letter's refit sample begins (private)
    models/samples/<alphabet>.npz           the last refit's decoded sample, reused by the next
    models/rescore.json                     how far the rescore of the current model has come
    stats/summary.json                      every letter's counts in one object, for GET /stats

Contributors bucket (private, never listed by any route)::

    contributors/<session>.json             name, e-mail and consents of one session
    created/<session>.json                  when the session first sent its record (write-once)
    approvals/<session>.json                the maintainer's decision on the session's name
    erasures/<time>-<n>.json                what an erasure removed, in counts only

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
COUNTED_PREFIX = "counted/"
LETTER_COUNTERS_PREFIX = "stats/letters/"
VERDICTS_PREFIX = "verdicts/"
MODELS_CURRENT_KEY = "models/current.json"
RECORDS_PREFIX = "strokes/"
CONTRIBUTORS_PREFIX = "contributors/"
APPROVALS_PREFIX = "approvals/"
SAMPLE_START_KEY = "models/sampling/start.json"
RESCORE_CURSOR_KEY = "models/rescore.json"
STATS_SUMMARY_KEY = "stats/summary.json"


def sample_cache_key(alphabet: str) -> str:
    """Where the last refit of ``alphabet`` left its decoded sample."""
    if not re.fullmatch(r"[a-z]{2,20}", alphabet):
        raise ValueError(f"not an alphabet id: {alphabet!r}")
    return f"models/samples/{alphabet}.npz"


_UUID = r"(?P<id>[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})"
_DRAWING_KEY = re.compile(
    r"drawings/(?P<alphabet>[a-z]{2,20})/(?P<cp>U\+[0-9A-F]{4,6})/" + _UUID + r"\.png"
)
_COUNTED_KEY = re.compile(
    r"counted/(?P<alphabet>[a-z]{2,20})/(?P<cp>U\+[0-9A-F]{4,6})/" + _UUID + r"\.json"
)
_RECORD_KEY = re.compile(
    r"strokes/(?P<alphabet>[a-z]{2,20})/(?P<cp>U\+[0-9A-F]{4,6})/" + _UUID + r"\.json"
)
_VERDICT_KEY = re.compile(
    r"verdicts/(?P<alphabet>[a-z]{2,20})/(?P<cp>U\+[0-9A-F]{4,6})/" + _UUID + r"\.json"
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

    @property
    def counted_key(self) -> str:
        """The marker that says this drawing is in its letter's counter."""
        return f"{COUNTED_PREFIX}{self.alphabet}/{self.code_point}/{self.id}.json"

    @property
    def verdict_key(self) -> str:
        """The maintainer's verdict on this drawing, apart from the machine's tags."""
        return f"{VERDICTS_PREFIX}{self.alphabet}/{self.code_point}/{self.id}.json"


def _parse(pattern: re.Pattern[str], kind: str, key: str) -> DrawingRef:
    match = pattern.fullmatch(key)
    if not match:
        raise ValueError(f"not a {kind} key: {key[:300]!r}")
    letter = letter_from_code_point(match["cp"])
    return DrawingRef(match["alphabet"], letter, match["id"])


def parse_drawing_key(key: str) -> DrawingRef:
    """Return the :class:`DrawingRef` of a drawing PNG key, or raise ``ValueError``."""
    return _parse(_DRAWING_KEY, "drawing", key)


def parse_record_key(key: str) -> DrawingRef:
    """Return the :class:`DrawingRef` of a drawing record's key, or raise ``ValueError``."""
    return _parse(_RECORD_KEY, "drawing record", key)


def parse_counted_key(key: str) -> DrawingRef:
    """Return the :class:`DrawingRef` of a count marker's key, or raise ``ValueError``."""
    return _parse(_COUNTED_KEY, "count marker", key)


def parse_verdict_key(key: str) -> DrawingRef:
    """Return the :class:`DrawingRef` of a verdict object's key, or raise ``ValueError``."""
    return _parse(_VERDICT_KEY, "verdict", key)


def letter_counter_key(alphabet: str, code_point_label: str) -> str:
    """Key of one letter's counter; ``code_point_label`` is ``U+XXXX``."""
    if not re.fullmatch(r"[a-z]{2,20}", alphabet) or not re.fullmatch(
        r"U\+[0-9A-F]{4,6}", code_point_label
    ):
        raise ValueError(f"invalid letter {alphabet!r} {code_point_label!r}")
    return f"{LETTER_COUNTERS_PREFIX}{alphabet}/{code_point_label}.json"


def request_key(drawing_id: str) -> str:
    """Key of the idempotency claim of a drawing id (a canonical UUID)."""
    return f"requests/{uuid.UUID(drawing_id)}.json"


def contributor_key(session: str) -> str:
    """Key of a session's contributor record in the contributors bucket."""
    return f"contributors/{uuid.UUID(session)}.json"


def contributor_created_key(session: str) -> str:
    """Key of the write-once marker that keeps when a session's contributor record was created."""
    return f"created/{uuid.UUID(session)}.json"


def approval_key(session: str) -> str:
    """Key of the maintainer's decision on a session's name, beside its contributor record."""
    return f"approvals/{uuid.UUID(session)}.json"


def model_key(version: str) -> str:
    """Key of one model version; versions are ``[A-Za-z0-9._-]`` strings."""
    if not re.fullmatch(r"[A-Za-z0-9._-]{1,64}", version):
        raise ValueError(f"invalid model version {version!r}")
    return f"models/{version}.json"
