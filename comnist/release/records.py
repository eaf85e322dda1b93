"""A release's rows: what goes in, how each drawing's record is validated, and ``metadata.csv``.

Every value a release publishes about a drawing passes :func:`validate_row` first: each column
has a strict form (a UUID, a UTC day, a status from a fixed list, a 2017 file path...) and
a drawing whose record does not fit is left out, counted as ``invalid-record``. No published cell
starts with ``=``, ``+``, ``-`` or ``@``, so ``metadata.csv`` opens safely in a spreadsheet: no
cell is ever taken for a formula.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import BinaryIO

METADATA_COLUMNS = (
    "id",
    "alphabet",
    "letter",
    "code_point",
    "label",
    "split",
    "session",
    "created",
    "age_group",
    "status",
    "verdict",
    "letter_p",
    "source",
    "same_image_as",
    "file_name",
)
# Columns that may be empty: the datasheet describes only those some drawing fills.
FILLED_COLUMNS = ("session", "age_group", "verdict", "letter_p", "source", "same_image_as")
STATUSES = ("ok", "unscored", "suspicious", "invalid", "pending")
FLAGGED_STATUSES = ("suspicious", "invalid", "pending")
AGE_GROUPS = ("child", "adult")
FORMULA_STARTS = ("=", "+", "-", "@")

_UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
_PATTERNS = {
    "id": _UUID,
    "alphabet": r"[a-z]{2,20}",
    "code_point": r"U\+[0-9A-F]{4,6}",
    "session": r"[0-9a-f]{16}|",
    # The UTC day, never finer: see :func:`release_day`.
    "created": r"\d{4}-\d\d-\d\d",
    "age_group": "|".join(AGE_GROUPS) + "|",
    "status": "|".join(STATUSES),
    "verdict": "ok|rejected|",
    "letter_p": r"(0|1)(\.\d{1,6})?|",
    # A 2017 file's path below the import folder: letter folder, then a plain file name.
    "source": r"[^\W_]{1,4}/\w[\w.-]{0,99}|",
    "same_image_as": _UUID + "|",
}
_COMPILED = {column: re.compile(pattern) for column, pattern in _PATTERNS.items()}


@dataclass
class Row:
    """One included drawing as pass one knows it (no PNG, no strokes, no raw session id)."""

    key: str
    alphabet: str
    letter: str
    code_point: str
    id: str
    label: int
    status: str
    verdict: str
    letter_p: str
    created: str  # the UTC day (release_day)
    age_group: str
    source: str
    session: str  # salted hash of the session; for imported images filled after pass one
    image_sha256: str = ""  # the stored pixels' hash, to find the same image in two alphabets
    same_image_as: str = ""  # the id of that other copy, if any
    uniqid_time: int | None = None
    has_strokes: bool = False
    split: str = ""


def is_included(
    status: str, verdict: str | None, include_suspicious: bool, include_unscored: bool
) -> bool:
    """Whether a drawing with these tags goes into the release.

    A maintainer's ``rejected`` verdict always excludes and an ``ok`` verdict always includes.
    Otherwise ``ok`` drawings go in; ``unscored`` ones only with ``include_unscored``, and
    ``suspicious``, ``invalid`` and untagged (``pending``) ones only with ``include_suspicious``.
    """
    if verdict == "rejected":
        return False
    if verdict == "ok" or status == "ok":
        return True
    if status == "unscored":
        return include_unscored
    return include_suspicious and status in FLAGGED_STATUSES


def release_day(stored_time: str) -> str:
    """The UTC day (``YYYY-MM-DD``) of an ISO 8601 time, the only resolution a release publishes.

    Finer times would let the hour of drawing hint at a participant's time zone, and the gap
    between the server's and the device's clocks (``drawn_at``, never published) link one
    device's drawings across sessions. An unreadable time gives ``""``, which the row's
    validation refuses.
    """
    try:
        when = datetime.fromisoformat(stored_time.replace("Z", "+00:00"))
    except (AttributeError, ValueError):
        return ""
    if when.tzinfo is None:
        return ""
    return when.astimezone(UTC).date().isoformat()


def session_hash(salt: bytes, label: str) -> str:
    """The salted one-way hash of a session label (HMAC-SHA256, 16 hex digits)."""
    return hmac.new(salt, label.encode(), hashlib.sha256).hexdigest()[:16]


def alphabet_folder(alphabet_id: str) -> str:
    """The CoMNIST layout's folder of an alphabet: ``cyrillic`` -> ``Cyrillic``."""
    return alphabet_id.capitalize()


def png_path(row: Row) -> str:
    """The release path of a drawing's PNG, ``Cyrillic/Ж/<id>.png``."""
    return f"{alphabet_folder(row.alphabet)}/{row.letter}/{row.id}.png"


def text_of(value: object) -> str:
    """A record value as the text a release publishes: ``None`` is empty."""
    return "" if value is None else str(value)


def validate_row(row: Row) -> str | None:
    """Why ``row`` cannot be released (the first column out of form), or ``None`` if it can."""
    values = asdict(row)
    for column, pattern in _COMPILED.items():
        if not pattern.fullmatch(text_of(values[column])):
            return column
    return None


def metadata_values(row: Row) -> list[str]:
    """The ``metadata.csv`` cells of ``row``, in :data:`METADATA_COLUMNS` order.

    Raises ``ValueError`` if a cell would start like a spreadsheet formula: :func:`validate_row`
    keeps such records out, and this check keeps it so whatever the columns become.
    """
    values = {**asdict(row), "file_name": png_path(row)}
    cells = [text_of(values[column]) for column in METADATA_COLUMNS]
    for column, cell in zip(METADATA_COLUMNS, cells, strict=True):
        if cell.startswith(FORMULA_STARTS):
            raise ValueError(f"{row.key}: {column} {cell!r} would start a spreadsheet formula")
    return cells


def write_metadata(raw: BinaryIO, rows: Iterable[Row]) -> None:
    """Write ``metadata.csv`` (UTF-8, ``\\n`` line ends, a header line) of ``rows`` to ``raw``."""
    text = io.TextIOWrapper(raw, encoding="utf-8", newline="")
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(METADATA_COLUMNS)
    for row in rows:
        writer.writerow(metadata_values(row))
    text.flush()
    text.detach()
