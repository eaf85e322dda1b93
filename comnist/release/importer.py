"""Bringing the 2017 CoMNIST images into the store through the collector's own write path.

The 2017 collection is a folder per letter (``DIR/<letter>/*.png``, folder names in either case)
of 278x278 PNGs: black ink on a transparent background, or on white in later copies. Each image
is normalised to what the collector stores (a black-on-transparent 278x278 RGBA PNG whose alpha is
the ink), given an id derived from its alphabet, its letter and the SHA-256 of its normalised
pixels, claimed and written with :func:`chalicelib.intake.claim_id` and
:func:`chalicelib.intake.store_drawing`. The PNG's creation then fires the same event as a new
drawing, so imported images are tagged too. Importing the same folder again stores nothing new.

The 2017 collection drew each shape the two alphabets share (A and А, B and В...) once and filed
it in both: the alphabet and the letter are part of the id so that both copies are kept, one per
alphabet, and every letter of both alphabets is in the store.
"""

from __future__ import annotations

import hashlib
import io
import unicodedata
import uuid
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from chalicelib.alphabets import Alphabet
from chalicelib.intake import claim_id, store_drawing, utc_now
from chalicelib.keys import DrawingRef
from chalicelib.raster import SIZE, encode_png
from chalicelib.storage import Storage
from chalicelib.validation import ApiError
from comnist import uniqid

MAX_FILE_BYTES = 1024 * 1024
ACCEPTED_MODES = {"1", "L", "LA", "P", "PA", "RGB", "RGBA"}


class Refused(ValueError):
    """A file that cannot be imported; ``reason`` says why in a few words."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Outcome:
    """What happened to one file: ``imported``, ``duplicate``, ``present`` or ``refused``.

    ``duplicate``: the same image as another file of this import folder (stored once);
    ``present``: stored by an earlier import.
    """

    source: str
    result: str
    detail: str = ""
    id: str | None = None


@dataclass(frozen=True)
class Candidate:
    """One file found in the import folder and the letter its folder names (``None``: unknown)."""

    path: Path
    source: str
    letter: str | None


def folder_letter(name: str, alphabet: Alphabet) -> str | None:
    """The capital of ``alphabet`` a folder name stands for (``"ж"`` or ``"Ж"`` -> ``"Ж"``), or ``None``."""
    letter = unicodedata.normalize("NFC", name).upper()
    return letter if letter in alphabet else None


def scan(directory: Path, alphabet: Alphabet) -> list[Candidate]:
    """Every file under ``directory`` in a stable order, with the letter of its folder.

    Files outside a letter folder or in a folder that is no capital of the alphabet get
    ``letter=None`` so that the report names them.
    """
    found = []
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        relative = path.relative_to(directory)
        letter = folder_letter(relative.parts[0], alphabet) if len(relative.parts) == 2 else None
        found.append(Candidate(path, relative.as_posix(), letter))
    return found


def ink_of(image: Image.Image) -> np.ndarray:
    """The ink of a decoded image as ``uint8`` (255 = full ink): opacity times darkness.

    Black on white (RGB): ink = 255 - luminance. Black on transparent (RGBA): ink = alpha. Both
    rules are this one product, which also handles grey ink and white pixels left opaque.
    """
    rgba = np.asarray(image.convert("RGBA"), dtype=np.uint32)
    luminance = (299 * rgba[..., 0] + 587 * rgba[..., 1] + 114 * rgba[..., 2] + 500) // 1000
    return ((rgba[..., 3] * (255 - luminance) + 127) // 255).astype(np.uint8)


def decode(data: bytes) -> np.ndarray:
    """Check and decode one image file's bytes into its 278x278 ink, or raise :class:`Refused`.

    The size of the file and the dimensions in the image header are checked before any pixel is
    decoded, so a decompression bomb is refused without being expanded.
    """
    if len(data) > MAX_FILE_BYTES:
        raise Refused(f"file-too-large ({len(data)} bytes, at most {MAX_FILE_BYTES})")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            width, height = image.size
            if width * height > (Image.MAX_IMAGE_PIXELS or SIZE * SIZE):
                raise Refused(f"decompression-bomb ({width}x{height})")
            if (width, height) != (SIZE, SIZE):
                raise Refused(f"wrong-size ({width}x{height}, expected {SIZE}x{SIZE})")
            if image.format != "PNG":
                raise Refused(f"not-png ({image.format})")
            if image.mode not in ACCEPTED_MODES:
                raise Refused(f"unsupported-mode ({image.mode})")
            image.load()
            return ink_of(image)
    except Refused:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise Refused("decompression-bomb") from None
    except Image.UnidentifiedImageError:
        raise Refused("not-an-image") from None
    except Exception as error:  # Pillow raises many types for broken files
        raise Refused(f"corrupt-image ({type(error).__name__})") from None


def content_id(digest: bytes) -> str:
    """A UUID (version 4 bits set) made of the first 16 bytes of a SHA-256 ``digest``."""
    return str(uuid.UUID(bytes=digest[:16], version=4))


def drawing_id(alphabet_id: str, letter: str, digest: bytes) -> str:
    """The id of an imported image: its alphabet, letter and pixels' SHA-256 ``digest``, hashed."""
    return content_id(hashlib.sha256(f"{alphabet_id}\0{letter}\0".encode() + digest).digest())


def created_time(source: str, fallback: str) -> str:
    """When the 2017 site saved the file, from its ``uniqid()`` name; ``fallback`` if it has none."""
    name = Path(source).name.lower()
    seconds = uniqid.uniqid_seconds(name)
    if seconds is None:
        return fallback
    micros = int(name[8:13], 16) if len(name) >= 13 else 0
    when = datetime.fromtimestamp(seconds, UTC).replace(microsecond=min(micros, 999_999))
    return when.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def drawing_record(ref: DrawingRef, source: str, created: str, digest: str) -> dict[str, Any]:
    """The record of an imported image, in the format of the collector's records."""
    return {
        "id": ref.id,
        "session": None,
        "alphabet": ref.alphabet,
        "letter": ref.letter,
        "code_point": ref.code_point,
        "strokes": None,
        "canvas": None,
        "device": None,
        "locale": None,
        "created": created,
        "country": None,
        "source": source,
        "body_sha256": digest,
    }


def import_file(store: Storage, alphabet: Alphabet, candidate: Candidate, now: str) -> Outcome:
    """Normalise one file and store it once; never raises for a bad file."""
    source = candidate.source
    if candidate.letter is None:
        return Outcome(source, "refused", f"not in a folder named after a letter of {alphabet.id}")
    try:
        ink = decode(candidate.path.read_bytes())
    except Refused as error:
        return Outcome(source, "refused", error.reason)
    except OSError as error:
        return Outcome(source, "refused", f"unreadable ({error.strerror or error})")
    digest = hashlib.sha256(ink.tobytes()).digest()
    ref = DrawingRef(
        alphabet.id, candidate.letter, drawing_id(alphabet.id, candidate.letter, digest)
    )
    # Imports before the id named the letter used the pixels' hash alone.
    earlier = DrawingRef(alphabet.id, candidate.letter, content_id(digest))
    if store.exists(earlier.png_key):
        return Outcome(source, "present", "imported before", earlier.id)
    try:
        claim, claimed = claim_id(
            store, ref.id, digest.hex(), ref.png_key, created_time(source, now)
        )
    except ApiError as error:
        return Outcome(source, "refused", error.message, ref.id)
    if claim.get("key") != ref.png_key:
        return Outcome(source, "present", f"same image as {claim.get('key')}", ref.id)
    if not claimed and store.exists(ref.png_key):
        return Outcome(source, "present", "imported before", ref.id)
    record = drawing_record(ref, source, claim["created"], digest.hex())
    png = encode_png(Image.fromarray(ink))
    store_drawing(store, ref, png, record)
    return Outcome(source, "imported", "", ref.id)


def import_directory(
    store: Storage,
    directory: Path,
    alphabet: Alphabet,
    *,
    on_file: Callable[[Outcome], None] | None = None,
    on_total: Callable[[int], None] | None = None,
) -> Iterator[Outcome]:
    """Import every file under ``directory``; yield one :class:`Outcome` per file, in path order."""
    candidates = scan(directory, alphabet)
    if on_total:
        on_total(len(candidates))
    now = utc_now()
    stored_now: dict[str, str] = {}  # id -> the file of this folder that stored it
    for candidate in candidates:
        outcome = import_file(store, alphabet, candidate, now)
        if outcome.result == "imported" and outcome.id:
            stored_now[outcome.id] = outcome.source
        elif outcome.result == "present" and outcome.id in stored_now:
            first = stored_now[outcome.id]
            outcome = Outcome(outcome.source, "duplicate", f"same image as {first}", outcome.id)
        if on_file:
            on_file(outcome)
        yield outcome
