"""The review queue: one small marker per flagged drawing that awaits the maintainer's verdict.

The marker's key carries all the review desk needs to sort and page it::

    flagged/<alphabet>/<U+XXXX>/<rank[:6]>/<rank>_<id>_<reasons>.json

``rank`` is the score turned round into eight digits, so that S3's lexicographic listing yields a
letter's worst drawings first (drawings without a score, such as blank or undecodable ones, rank
before all); ``reasons`` are the sanitizer's reasons in key characters. The folder level
(scores a tenth apart) changes nothing on S3 and keeps each folder of a local store small. A page of the desk is
therefore one listing request that starts after the previous page's last key, whatever the
number of flagged drawings, and the collection report counts suspicious drawings per reason from
listings alone.

Whoever writes a drawing's tags keeps its marker in step (:func:`sync_marker`); a verdict removes
it and undoing the verdict puts it back. The index is derived data: a marker that lost a race
with a rescore is recognised as stale against the drawing's tags and dropped
(:func:`marker_matches`), and :func:`rebuild` recreates the whole index from the tags.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import suppress
from dataclasses import dataclass

from .keys import DRAWINGS_PREFIX, DrawingRef, parse_drawing_key
from .storage import NotFound, Storage

FLAGGED_PREFIX = "flagged/"
FLAGGED_STATUSES = ("suspicious", "invalid")
_SCORE_LIMIT = 9_999.999
_RANK_ZERO = 10_000_000  # the rank of a score of 0; higher scores rank lower, and list first
_MAX_REASONS_CHARS = 120
# Markers sit in folders of scores a tenth apart: a local store lists a folder by reading it
# whole, and a page then reads a few small folders rather than all of a letter's markers.
SHARD_DIGITS = 6
_UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
_MARKER_KEY = re.compile(
    r"flagged/(?P<alphabet>[a-z]{2,20})/(?P<cp>U\+[0-9A-F]{4,6})/(?P<shard>[0-9]{6})/"
    rf"(?P<rank>[0-9]{{8}})_(?P<id>{_UUID})_(?P<reasons>[A-Za-z0-9=.+-]*)\.json"
)


@dataclass(frozen=True)
class Marker:
    """One flagged drawing as its marker key tells it."""

    key: str
    ref: DrawingRef
    rank: str
    reasons: tuple[str, ...]

    @property
    def score(self) -> float | None:
        """The sanitizer's score again (to the tag's three decimals), or ``None`` if it had none."""
        if self.rank == "00000000":
            return None
        return (_RANK_ZERO - int(self.rank)) / 1000


def rank_of(score: str | None) -> str:
    """Eight digits that sort the highest score first; no score (blank, undecodable) before all."""
    try:
        value = float(score) if score not in (None, "") else None
    except ValueError:
        value = None
    if value is None or value != value:  # missing or NaN
        return "00000000"
    value = max(-_SCORE_LIMIT, min(_SCORE_LIMIT, value))
    return f"{_RANK_ZERO - round(value * 1000):08d}"


def _reason_token(reason: str) -> str:
    """A reason in key characters: ``wrong-letter:U+0416`` becomes ``wrong-letter=U+0416``."""
    return re.sub(r"[^A-Za-z0-9+=-]", "-", reason.replace(":", "="))


def reasons_segment(reasons: str | None) -> str:
    """The space-separated reasons tag as a key part: tokens joined by dots, bounded."""
    tokens = [_reason_token(r) for r in (reasons or "").split() if r]
    segment = ".".join(tokens)
    return segment[:_MAX_REASONS_CHARS].rstrip(".")


def reasons_from_segment(segment: str) -> tuple[str, ...]:
    """The reasons of a marker key, as the sanitizer writes them (``wrong-letter:U+0416``)."""
    return tuple(token.replace("=", ":") for token in segment.split(".") if token)


def is_flagged(tags: dict[str, str]) -> bool:
    """Whether tags put a drawing in the review queue: flagged by the sanitizer, not yet judged."""
    return tags.get("status") in FLAGGED_STATUSES and not tags.get("verdict")


def marker_key(ref: DrawingRef, tags: dict[str, str]) -> str:
    """The key of the marker of drawing ``ref`` with ``tags``."""
    rank = rank_of(tags.get("score"))
    reasons = reasons_segment(tags.get("reasons"))
    folder = f"{FLAGGED_PREFIX}{ref.alphabet}/{ref.code_point}/{rank[:SHARD_DIGITS]}"
    return f"{folder}/{rank}_{ref.id}_{reasons}.json"


def letter_prefix(alphabet: str, code_point_label: str) -> str:
    """The listing prefix of one letter's markers."""
    return f"{FLAGGED_PREFIX}{alphabet}/{code_point_label}/"


def parse_marker_key(key: str) -> Marker:
    """The :class:`Marker` of a marker key, or ``ValueError``."""
    from .alphabets import letter_from_code_point

    match = _MARKER_KEY.fullmatch(key)
    if not match or not match["rank"].startswith(match["shard"]):
        raise ValueError(f"not a review marker key: {key[:300]!r}")
    ref = DrawingRef(match["alphabet"], letter_from_code_point(match["cp"]), match["id"])
    return Marker(key, ref, match["rank"], reasons_from_segment(match["reasons"]))


def marker_matches(marker: Marker, tags: dict[str, str]) -> bool:
    """Whether ``marker`` still says what the drawing's current ``tags`` say."""
    return is_flagged(tags) and marker_key(marker.ref, tags) == marker.key


def sync_marker(
    store: Storage, ref: DrawingRef, before: dict[str, str], after: dict[str, str]
) -> None:
    """Bring the drawing's marker from its tags ``before`` to its tags ``after`` (already written).

    The new marker is written before the old one is removed, so the drawing is never out of the
    queue while it belongs in it.
    """
    old = marker_key(ref, before) if before.get("status") in FLAGGED_STATUSES else None
    new = marker_key(ref, after) if is_flagged(after) else None
    if new is not None:
        store.put_json(new, {"status": after.get("status"), "letter_p": after.get("letter_p")})
    if old is not None and old != new:
        store.delete(old)


def iter_markers(store: Storage, prefix: str = FLAGGED_PREFIX, after: str = "") -> Iterator[Marker]:
    """The markers under ``prefix`` in key order (worst first within a letter), from ``after`` on."""
    for key in store.list_keys(prefix, start_after=after):
        with suppress(ValueError):
            yield parse_marker_key(key)


def erase_markers(store: Storage, ref: DrawingRef) -> int:
    """Erase the drawing's markers (see :meth:`Storage.erase`) for an erasure request.

    Found by listing its letter's queue, as a marker's key depends on tags that may be gone.
    Returns how many object versions went.
    """
    token = f"_{ref.id}_"
    prefix = letter_prefix(ref.alphabet, ref.code_point)
    return sum(store.erase(key) for key in list(store.list_keys(prefix)) if token in key)


def rebuild(store: Storage) -> dict[str, int]:
    """Recreate the queue from every drawing's tags; remove markers no drawing supports.

    Needed once for a collection tagged before the queue existed; it reads every drawing's tags,
    so it costs a tag request per drawing on S3.
    """
    wanted: set[str] = set()
    for key in store.list_keys(DRAWINGS_PREFIX):
        try:
            ref = parse_drawing_key(key)
            tags = store.get_tags(key)
        except (ValueError, NotFound):
            continue
        if is_flagged(tags):
            marker = marker_key(ref, tags)
            wanted.add(marker)
            if not store.exists(marker):
                sync_marker(store, ref, {}, tags)
    removed = 0
    for marker in iter_markers(store):
        if marker.key not in wanted:
            store.delete(marker.key)
            removed += 1
    return {"queued": len(wanted), "removed": removed}
