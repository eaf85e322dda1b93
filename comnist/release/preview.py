"""``preview/<alphabet>.png``: a contact sheet, one labelled row per letter, black ink on white.

Each row starts with the letter's label and code point (``6 U+0401``: Pillow's built-in font has
no Cyrillic glyphs, and the datasheet's table names the letter of each label), then up to
``PREVIEW_PER_LETTER`` thumbnails of the letter's first drawings in ``metadata.csv`` order.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from chalicelib.alphabets import Alphabet

from .files import atomic_file
from .records import Row
from .writer import Drawing, FormatWriter

PREVIEW_PER_LETTER = 12
THUMB = 48
GAP = 2
LABEL_WIDTH = 72


def thumbnail(ink: np.ndarray) -> np.ndarray:
    """A ``THUMB`` x ``THUMB`` ``uint8`` reduction of an ink map (0-255)."""
    image = Image.fromarray(ink.astype(np.float32)).resize((THUMB, THUMB), Image.Resampling.BOX)
    return np.clip(np.rint(np.asarray(image)), 0, 255).astype(np.uint8)


def preview_name(alphabet_id: str) -> str:
    return f"preview/{alphabet_id}.png"


def contact_sheet(alphabet: Alphabet, thumbnails: dict[str, list[np.ndarray]]) -> bytes:
    """A PNG grid: a row per letter in alphabet order, its label and code point, then thumbnails."""
    width = LABEL_WIDTH + PREVIEW_PER_LETTER * (THUMB + GAP) + GAP
    height = len(alphabet.letters) * (THUMB + GAP) + GAP
    sheet = np.full((height, width), 255, dtype=np.uint8)
    for row, letter in enumerate(alphabet.letters):
        for column, thumb in enumerate(thumbnails.get(letter, [])[:PREVIEW_PER_LETTER]):
            top = GAP + row * (THUMB + GAP)
            left = LABEL_WIDTH + GAP + column * (THUMB + GAP)
            sheet[top : top + THUMB, left : left + THUMB] = 255 - thumb
    image = Image.fromarray(sheet)
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=13)
    for row, letter in enumerate(alphabet.letters):
        top = GAP + row * (THUMB + GAP) + THUMB // 2 - 8
        draw.text((4, top), f"{row} U+{ord(letter):04X}", fill=0, font=font)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


class PreviewWriter(FormatWriter):
    """Keeps the thumbnails of each letter's first drawings and draws the sheet at the end."""

    part = "preview"

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.chosen: dict[str, int] = {}
        self.thumbnails: dict[str, list[np.ndarray]] = {}

    def wants(self, row: Row) -> bool:
        taken = self.chosen.get(row.letter, 0)
        self.chosen[row.letter] = taken + 1
        return taken < PREVIEW_PER_LETTER

    def prepare(self, drawing: Drawing) -> np.ndarray:
        assert drawing.ink is not None
        return thumbnail(drawing.ink)

    def add(self, row: Row, prepared: np.ndarray) -> None:
        self.thumbnails.setdefault(row.letter, []).append(prepared)

    def close(self) -> list[str]:
        super().close()
        with atomic_file(self.out / preview_name(self.alphabet.id)) as handle:
            handle.write(contact_sheet(self.alphabet, self.thumbnails))
        return [preview_name(self.alphabet.id)]
