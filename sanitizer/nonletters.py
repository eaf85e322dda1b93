"""Pictures of things that are not letters: the letter classifier's class for doodles.

A classifier trained on letters alone must share all its belief among letters, so a doodle of
a house or a fork can still look like some letter, even the one it was filed under. The
classifier also learns a class :data:`NOT_A_LETTER` from the pictures shipped in
``nonletters.npz``: arrows, geometric shapes, pictographs, dingbats and signs, rendered from the
free DejaVu fonts. A doodle's belief then has somewhere else to go. Measured by writer on the
2017 drawings with 5 % junk (a split not tuned on), the class raised the share of Quick, Draw!
doodles caught from 49 % to 79 % and overall F1 from 0.86 to 0.89, for 11 more genuine drawings
flagged (23 of 4,470); of 76 wrong letters it misses four more and tags four ``not-a-letter``.

The file is built once, offline, by ``comnist nonletters FONT...`` (``make nonletters``):
Lambda has no fonts, and refits must not depend on the fonts of the machine that runs them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from .features import PICTURE_SIDE, letter_picture

# Not a letter of any alphabet: alphabet letters must be alphabetic characters.
NOT_A_LETTER = "*"
PICTURES_FILE = Path(__file__).with_name("nonletters.npz")
# Arrows, technical symbols, geometric shapes, miscellaneous symbols and dingbats.
SYMBOL_BLOCKS = (
    (0x2190, 0x21FF),
    (0x2300, 0x23FF),
    (0x25A0, 0x25FF),
    (0x2600, 0x26FF),
    (0x2700, 0x27BF),
)
SIGNS = "#$%&@?!*+=~{}<>§¶♪"
# Solid shapes (a filled square or star) are not what a pen draws; keep outlines and line art.
MAX_INK_SHARE = 0.45
RENDER_SIZE = 160
_CANVAS = 3 * RENDER_SIZE


def _no_pictures() -> np.ndarray:
    return np.zeros((0, PICTURE_SIDE, PICTURE_SIDE), dtype=np.uint8)


def symbol_codes() -> list[str]:
    """Every character the pictures are rendered from, in order."""
    return [chr(code) for start, end in SYMBOL_BLOCKS for code in range(start, end + 1)] + list(
        SIGNS
    )


def _ink_of(font: ImageFont.FreeTypeFont, character: str) -> np.ndarray:
    canvas = Image.new("L", (_CANVAS, _CANVAS), 0)
    ImageDraw.Draw(canvas).text(
        (_CANVAS // 2, _CANVAS // 2), character, fill=255, font=font, anchor="mm"
    )
    return np.asarray(canvas, dtype=np.float32) / 255.0


def render_symbols(font: ImageFont.FreeTypeFont, characters: Iterable[str]) -> np.ndarray:
    """Letter pictures (:func:`sanitizer.features.letter_picture`) of the characters a font has.

    Characters the font lacks (drawn as its "missing glyph" box, or not at all) and solid
    shapes (more than :data:`MAX_INK_SHARE` of the picture inked) are left out. Returns
    ``(n, PICTURE_SIDE, PICTURE_SIDE)`` uint8.
    """
    missing = _ink_of(font, "\U0010fffd").tobytes()
    pictures = []
    for character in characters:
        ink = _ink_of(font, character)
        if ink.tobytes() == missing:
            continue
        picture = letter_picture(ink)
        if picture is not None and (picture > 127).mean() <= MAX_INK_SHARE:
            pictures.append(picture)
    return np.stack(pictures) if pictures else _no_pictures()


def build(font_paths: Sequence[Path], out: Path) -> int:
    """Render :func:`symbol_codes` in every font into ``out`` (an ``.npz``); return the count."""
    parts = [
        render_symbols(ImageFont.truetype(str(path), RENDER_SIZE), symbol_codes())
        for path in font_paths
    ]
    pictures = np.concatenate(parts) if parts else _no_pictures()
    np.savez_compressed(out, pictures=pictures)
    return len(pictures)


@cache
def nonletter_pictures(path: Path = PICTURES_FILE) -> np.ndarray:
    """The shipped pictures, ``(n, PICTURE_SIDE, PICTURE_SIDE)`` uint8; none if the file is absent."""
    if not path.exists():
        return _no_pictures()
    with np.load(path, allow_pickle=False) as data:
        pictures = data["pictures"]
    if pictures.dtype != np.uint8 or pictures.shape[1:] != (PICTURE_SIDE, PICTURE_SIDE):
        raise ValueError(f"{path}: expected uint8 pictures of side {PICTURE_SIDE}")
    pictures.setflags(write=False)
    return pictures
