"""Validation of what clients send. Every refusal is an :class:`ApiError` with a clear message.

Limits (also in docs/api.md):

* request body: at most ``MAX_BODY_BYTES`` (256 KiB), UTF-8 JSON object, no NaN/Infinity;
* strokes: 1..``MAX_STROKES`` (64), each 1..``MAX_POINTS_PER_STROKE`` (1,000) points,
  ``MAX_POINTS`` (4,000) points in all;
* canvas: ``MIN_CANVAS``..``MAX_CANVAS`` (16..4,096) CSS pixels per side;
* points: finite numbers within a quarter of the canvas around it; ``t`` in ms from the first
  point, never going backwards, at most ``MAX_DURATION_MS`` (30 minutes);
* ``drawn_at`` (optional): the device's UTC time of drawing, ISO 8601 with ``Z``, within the
  last ``MAX_DRAWN_AGE`` (30 days) and at most ``MAX_CLOCK_SKEW`` (10 minutes) ahead;
* ``age_group`` (optional): ``child`` or ``adult``;
* names at most 80 characters, e-mails at most 254, neither with control or format characters
  (Unicode categories Cc and Cf: zero-width and text-direction marks).
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from .alphabets import find_letter

MAX_BODY_BYTES = 256 * 1024
MAX_STROKES = 64
MAX_POINTS = 4_000
MAX_POINTS_PER_STROKE = 1_000
MIN_CANVAS = 16
MAX_CANVAS = 4_096
CANVAS_MARGIN = 0.25
MAX_DURATION_MS = 30 * 60 * 1000
MAX_NAME_CHARS = 80
MAX_EMAIL_CHARS = 254
MAX_COUNT = 1_000_000
POINTERS = ("touch", "pen", "mouse")
AGE_GROUPS = ("child", "adult")
MAX_DRAWN_AGE = timedelta(days=30)
MAX_CLOCK_SKEW = timedelta(minutes=10)

# Matched with fullmatch: ``$`` would also accept a trailing newline.
_LOCALE = re.compile(r"[a-z]{2,3}(-[A-Za-z0-9]{2,8}){0,3}")
EMAIL = re.compile(
    r"[^@\s<>\"'\\]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?)+"
)
_COUNTRY = re.compile(r"[A-Z]{2}")
_UTC_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?Z")

DRAWING_FIELDS = {
    "id",
    "session",
    "alphabet",
    "letter",
    "strokes",
    "canvas",
    "device",
    "locale",
    "drawn_at",
    "age_group",
}
DRAWING_REQUIRED = {"id", "session", "alphabet", "letter", "strokes", "canvas"}
CONTRIBUTOR_FIELDS = {"session", "name", "email", "consent", "count"}


class ApiError(Exception):
    """A refusal to show the client: HTTP status and a message that says what to fix."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


def bad(message: str) -> ApiError:
    return ApiError(400, message)


@dataclass(frozen=True)
class Drawing:
    """A validated drawing request, in canonical form."""

    id: str
    session: str
    alphabet: str
    letter: str
    strokes: list[list[list[float]]]
    canvas_width: float
    canvas_height: float
    pointer: str | None
    dpr: float | None
    locale: str | None
    drawn_at: str | None = None
    age_group: str | None = None

    def canonical(self) -> dict[str, Any]:
        """The request as stored: the form whose hash decides whether a replay is the same body.

        ``drawn_at`` and ``age_group`` appear only when sent, so a body without them keeps the
        form (and hash) it had before they existed.
        """
        device = None if self.pointer is None else {"pointer": self.pointer, "dpr": self.dpr}
        optional = {"drawn_at": self.drawn_at, "age_group": self.age_group}
        return {
            "id": self.id,
            "session": self.session,
            "alphabet": self.alphabet,
            "letter": self.letter,
            "strokes": self.strokes,
            "canvas": {"width": self.canvas_width, "height": self.canvas_height},
            "device": device,
            "locale": self.locale,
            **{key: value for key, value in optional.items() if value is not None},
        }


@dataclass(frozen=True)
class Contributor:
    """A validated contributor record: personal data, stored only in the contributors bucket."""

    session: str
    name: str | None
    email: str | None
    thanks_page: bool
    updates: bool
    count: int


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def parse_json_object(raw: bytes | str | None, content_type: str | None) -> dict[str, Any]:
    """Parse a request body into a JSON object, refusing what is too big, not JSON or not an object."""
    media_type = (content_type or "").split(";")[0].strip().lower()
    if media_type != "application/json":
        raise ApiError(415, "Content-Type must be application/json")
    if raw is None or len(raw) == 0:
        raise bad("request body is empty; send a JSON object")
    if len(raw) > MAX_BODY_BYTES:
        raise ApiError(413, f"request body is larger than {MAX_BODY_BYTES} bytes")
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
        value = json.loads(text, parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise bad(f"request body is not valid JSON: {str(exc)[:120]}") from None
    if not isinstance(value, dict):
        raise bad("request body must be a JSON object")
    return value


def _check_fields(body: dict[str, Any], allowed: set[str], required: set[str]) -> None:
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise bad(f"unknown field(s): {', '.join(repr(u)[:40] for u in unknown[:5])}")
    missing = sorted(required - set(body))
    if missing:
        raise bad(f"missing field(s): {', '.join(missing)}")


def _uuid4(value: Any, field: str) -> str:
    if not isinstance(value, str) or len(value) != 36:
        raise bad(f"{field} must be a UUID4 string")
    try:
        parsed = uuid.UUID(value)
    except ValueError:
        raise bad(f"{field} must be a UUID4 string") from None
    if parsed.version != 4 or str(parsed) != value.lower():
        raise bad(f"{field} must be a UUID4 string")
    return str(parsed)


def _number(value: Any, field: str, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise bad(f"{field} must be a number")
    # Compared as they are: an int of 400 digits is out of range, not a float overflow.
    if (isinstance(value, float) and not math.isfinite(value)) or not low <= value <= high:
        raise bad(f"{field} must be between {low:g} and {high:g}")
    return value


def _strokes(value: Any, width: float, height: float) -> list[list[list[float]]]:
    if not isinstance(value, list) or not value:
        raise bad("strokes must be a non-empty list of [[x...], [y...], [t...]]")
    if len(value) > MAX_STROKES:
        raise bad(f"too many strokes: at most {MAX_STROKES}")
    total = 0
    last_t = 0.0
    x_range = (-CANVAS_MARGIN * width, (1 + CANVAS_MARGIN) * width)
    y_range = (-CANVAS_MARGIN * height, (1 + CANVAS_MARGIN) * height)
    result = []
    for i, stroke in enumerate(value):
        if (
            not isinstance(stroke, list)
            or len(stroke) != 3
            or not all(isinstance(axis, list) for axis in stroke)
        ):
            raise bad(f"stroke {i} must be [[x...], [y...], [t...]]")
        xs, ys, ts = stroke
        if not xs or not len(xs) == len(ys) == len(ts):
            raise bad(f"stroke {i} must have as many x, y and t values, at least one")
        if len(xs) > MAX_POINTS_PER_STROKE:
            raise bad(f"stroke {i} has too many points: at most {MAX_POINTS_PER_STROKE}")
        total += len(xs)
        if total > MAX_POINTS:
            raise bad(f"too many points: at most {MAX_POINTS} in all")
        clean_x = [_number(x, f"x of stroke {i}", *x_range) for x in xs]
        clean_y = [_number(y, f"y of stroke {i}", *y_range) for y in ys]
        clean_t = []
        for t in ts:
            t = _number(t, f"t of stroke {i}", 0, MAX_DURATION_MS)
            if t < last_t:
                raise bad(f"t goes backwards in stroke {i}: times must not decrease")
            last_t = t
            clean_t.append(t)
        result.append([clean_x, clean_y, clean_t])
    return result


def _letter(alphabet: Any, letter: Any) -> tuple[str, str]:
    if not isinstance(alphabet, str):
        raise bad("alphabet must be a string")
    if not isinstance(letter, str):
        raise bad("letter must be a string")
    if len(letter) != 1:
        raise bad("letter must be exactly one capital letter of the alphabet")
    try:
        find_letter(alphabet, letter)
    except KeyError as exc:
        raise bad(str(exc.args[0])) from None
    return alphabet, letter


def _drawn_at(value: Any, now: datetime) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not _UTC_TIME.fullmatch(value):
        raise bad('drawn_at must be a UTC time such as "2026-05-01T12:30:00.000Z"')
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise bad('drawn_at must be a UTC time such as "2026-05-01T12:30:00.000Z"') from None
    if when > now + MAX_CLOCK_SKEW:
        raise bad("drawn_at is in the future: check the device's clock")
    if when < now - MAX_DRAWN_AGE:
        raise bad(f"drawn_at is more than {MAX_DRAWN_AGE.days} days ago")
    return value


def validate_drawing(body: dict[str, Any], now: datetime | None = None) -> Drawing:
    """Validate a ``POST /drawings`` body, returning the canonical :class:`Drawing`.

    ``now`` (the server's clock by default) bounds ``drawn_at``.
    """
    _check_fields(body, DRAWING_FIELDS, DRAWING_REQUIRED)
    drawing_id = _uuid4(body["id"], "id")
    session = _uuid4(body["session"], "session")
    alphabet, letter = _letter(body["alphabet"], body["letter"])
    canvas = body["canvas"]
    if not isinstance(canvas, dict) or set(canvas) != {"width", "height"}:
        raise bad('canvas must be {"width": w, "height": h}')
    width = _number(canvas["width"], "canvas.width", MIN_CANVAS, MAX_CANVAS)
    height = _number(canvas["height"], "canvas.height", MIN_CANVAS, MAX_CANVAS)
    strokes = _strokes(body["strokes"], width, height)
    pointer = dpr = None
    device = body.get("device")
    if device is not None:
        if not isinstance(device, dict) or not set(device) <= {"pointer", "dpr"}:
            raise bad('device must be {"pointer": "touch"|"pen"|"mouse", "dpr": number}')
        pointer = device.get("pointer")
        if pointer not in POINTERS:
            raise bad("device.pointer must be one of touch, pen, mouse")
        dpr = _number(device.get("dpr", 1), "device.dpr", 0.25, 8)
    locale = body.get("locale")
    if locale is not None and (not isinstance(locale, str) or not _LOCALE.fullmatch(locale)):
        raise bad('locale must be a language tag such as "ru" or "fr-CA"')
    drawn_at = _drawn_at(body.get("drawn_at"), now or datetime.now(UTC))
    age_group = body.get("age_group")
    if age_group is not None and age_group not in AGE_GROUPS:
        raise bad('age_group must be "child" or "adult"')
    return Drawing(
        drawing_id,
        session,
        alphabet,
        letter,
        strokes,
        width,
        height,
        pointer,
        dpr,
        locale,
        drawn_at,
        age_group,
    )


def _text(value: Any, field: str, limit: int) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise bad(f"{field} must be a string")
    value = unicodedata.normalize("NFC", value.strip())
    if not value:
        return None
    if len(value) > limit:
        raise bad(f"{field} must be at most {limit} characters")
    if any(unicodedata.category(ch) in ("Cc", "Cs", "Co", "Cn") for ch in value):
        raise bad(f"{field} contains control characters")
    # Format characters (category Cf) are invisible: zero-width spaces and joiners, direction
    # marks and overrides. On a public page they hide text or reorder what is around them.
    if any(unicodedata.category(ch) == "Cf" for ch in value):
        raise bad(
            f"{field} contains invisible format characters (zero-width or text-direction marks);"
            " remove them"
        )
    return value


def validate_contributor(body: dict[str, Any]) -> Contributor:
    """Validate a ``POST /contributors`` body; a name needs thanks-page consent, an e-mail updates consent."""
    _check_fields(body, CONTRIBUTOR_FIELDS, {"session", "consent"})
    session = _uuid4(body["session"], "session")
    consent = body["consent"]
    if (
        not isinstance(consent, dict)
        or set(consent) != {"thanks_page", "updates"}
        or not all(isinstance(v, bool) for v in consent.values())
    ):
        raise bad('consent must be {"thanks_page": true|false, "updates": true|false}')
    name = _text(body.get("name"), "name", MAX_NAME_CHARS)
    email = _text(body.get("email"), "email", MAX_EMAIL_CHARS)
    if email is not None and not EMAIL.fullmatch(email):
        raise bad("email is not a valid e-mail address")
    if name is not None and not consent["thanks_page"]:
        raise bad("a name is only kept with consent to show it on the thanks page")
    if email is not None and not consent["updates"]:
        raise bad("an e-mail is only kept with consent to receive updates")
    count = body.get("count", 0)
    if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= MAX_COUNT:
        raise bad(f"count must be an integer between 0 and {MAX_COUNT}")
    return Contributor(session, name, email, consent["thanks_page"], consent["updates"], count)


def country_from_headers(headers: dict[str, str]) -> str | None:
    """Return CloudFront's viewer country (two capital letters) if the header is present and sane."""
    value = headers.get("cloudfront-viewer-country") or headers.get("CloudFront-Viewer-Country")
    if isinstance(value, str) and _COUNTRY.fullmatch(value):
        return value
    return None
