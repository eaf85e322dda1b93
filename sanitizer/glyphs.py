"""Letters of a font as a pen would draw them: the glyph's centre lines as strokes.

A font's glyph has its own stroke weight, serifs and contrast; a participant's pen draws every
line the same width. Thinning the rendered glyph to its one-pixel skeleton and drawing that
skeleton again with the collector's pen (:func:`chalicelib.raster.render_alpha`) gives the
letter a writer would draw in that style. The starter letter classifier learns from such
letters (:mod:`sanitizer.starter`), and the tests draw every letter of every alphabet this way.

Everything here is pure numpy and Pillow; fonts are read only when a caller passes one.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFont

GLYPH_CANVAS = 128
# Capitals about 80 px tall on the 128 px canvas: drawn again on the collector's 278 px canvas,
# about 175 px tall with its 15 px pen, the proportions of a drawing on the site.
GLYPH_SIZE = 112

Stroke = list[list[float]]


def glyph_mask(
    font: ImageFont.FreeTypeFont, character: str, canvas: int = GLYPH_CANVAS
) -> np.ndarray:
    """The character rendered centred on a ``canvas`` square, as a boolean ink mask."""
    image = Image.new("L", (canvas, canvas), 0)
    ImageDraw.Draw(image).text(
        (canvas / 2, canvas / 2), character, fill=255, font=font, anchor="mm"
    )
    return np.asarray(image) > 127


def thin(mask: np.ndarray) -> np.ndarray:
    """Zhang and Suen's thinning (1984): the one-pixel-wide skeleton of a boolean mask."""
    image = np.pad(np.asarray(mask, dtype=bool), 1)
    while True:
        changed = False
        for first_pass in (True, False):
            p2, p3, p4 = image[:-2, 1:-1], image[:-2, 2:], image[1:-1, 2:]
            p5, p6, p7 = image[2:, 2:], image[2:, 1:-1], image[2:, :-2]
            p8, p9 = image[1:-1, :-2], image[:-2, :-2]
            ring = (p2, p3, p4, p5, p6, p7, p8, p9, p2)
            neighbours = sum(p.astype(np.uint8) for p in ring[:8])
            transitions = sum(
                (~a & b).astype(np.uint8) for a, b in zip(ring[:8], ring[1:], strict=True)
            )
            if first_pass:
                keeps_shape = ~(p2 & p4 & p6) & ~(p4 & p6 & p8)
            else:
                keeps_shape = ~(p2 & p4 & p8) & ~(p2 & p6 & p8)
            remove = (
                image[1:-1, 1:-1]
                & (neighbours >= 2)
                & (neighbours <= 6)
                & (transitions == 1)
                & keeps_shape
            )
            if remove.any():
                image[1:-1, 1:-1] &= ~remove
                changed = True
        if not changed:
            return image[1:-1, 1:-1]


def skeleton_strokes(skeleton: np.ndarray) -> list[Stroke]:
    """Two-point strokes ``[[x0, x1], [y0, y1], [0, 1]]`` joining 8-neighbours of a skeleton.

    An isolated pixel becomes a one-point stroke (a dot, like the dot of a Й's breve).
    """
    ys, xs = np.nonzero(skeleton)
    on = {(int(y), int(x)) for y, x in zip(ys, xs, strict=True)}
    strokes: list[Stroke] = []
    for y, x in sorted(on):
        joined = False
        for dy, dx in ((0, 1), (1, -1), (1, 0), (1, 1)):
            if (y + dy, x + dx) in on:
                strokes.append([[x, x + dx], [y, y + dy], [0, 1]])
                joined = True
        if not joined and not any(
            (y + dy, x + dx) in on for dy in (-1, 0) for dx in (-1, 0, 1) if (dy, dx) != (0, 0)
        ):
            strokes.append([[x], [y], [0]])
    return strokes


def glyph_strokes(
    font: ImageFont.FreeTypeFont, character: str, canvas: int = GLYPH_CANVAS
) -> list[Stroke]:
    """The character's skeleton as strokes on a ``canvas`` square; empty if the font lacks it.

    A glyph too tall for the canvas at the font's size is scaled down to fit whole.

    A font without the character draws its "missing glyph" box or nothing; both are refused by
    comparing with the rendering of a private-use character.
    """
    mask = glyph_mask(font, character, canvas)
    if not mask.any() or np.array_equal(mask, glyph_mask(font, "\ue000", canvas)):
        return []
    edge = np.concatenate([mask[0], mask[-1], mask[:, 0], mask[:, -1]])
    if edge.any():
        # A tall glyph (a breve, a descender) cut by the canvas: thin it on a larger one, then
        # scale it back into this one.
        larger = canvas + canvas // 4
        shrink = canvas / larger
        return [
            [[x * shrink for x in xs], [y * shrink for y in ys], ts]
            for xs, ys, ts in glyph_strokes(font, character, larger)
        ]
    return skeleton_strokes(thin(mask))


def transformed(
    strokes: Sequence[Stroke], matrix: np.ndarray, centre: float, warp: np.ndarray | None = None
) -> list[Stroke]:
    """Strokes mapped by a 2x2 ``matrix`` about ``(centre, centre)``, then by an optional warp.

    ``warp`` holds ``(amplitude, frequency, phase)`` rows of smooth sine displacements in
    pixels, x then y alternately: a hand that wobbles where a font is straight.
    """
    out = []
    for xs, ys, ts in strokes:
        points = np.array([xs, ys], dtype=np.float64) - centre
        x, y = matrix @ points + centre
        if warp is not None:
            for i, (amplitude, frequency, phase) in enumerate(warp):
                if i % 2 == 0:
                    x = x + amplitude * np.sin(frequency * y / centre + phase)
                else:
                    y = y + amplitude * np.sin(frequency * x / centre + phase)
        out.append([x.tolist(), y.tolist(), list(ts)])
    return out
