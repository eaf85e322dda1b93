"""Rasterize Quick, Draw!-style strokes into CoMNIST PNGs with Pillow.

The 2017 CoMNIST site drew SVG paths with stroke width 15, round caps and joins, on a 278x278
canvas, and saved black ink on a transparent background. This module produces the same look so
that old and new drawings mix in one dataset: the drawing area is scaled uniformly into 278x278
(centred), lines are drawn at ``SUPERSAMPLE`` times the size and reduced with a box filter, which
anti-aliases them.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

from PIL import Image, ImageDraw

SIZE = 278
STROKE_WIDTH = 15
SUPERSAMPLE = 4

Stroke = Sequence[Sequence[float]]


def stroke_transform(width: float, height: float, size: int = SIZE) -> tuple[float, float, float]:
    """Return ``(scale, dx, dy)`` mapping canvas CSS pixels into a centred ``size`` square."""
    scale = size / max(width, height)
    return scale, (size - width * scale) / 2, (size - height * scale) / 2


def render_alpha(strokes: Sequence[Stroke], width: float, height: float) -> Image.Image:
    """Return the ink of ``strokes`` as an 8-bit ``L`` image of 278x278 (255 = full ink).

    ``strokes`` are ``[[x...], [y...], [t...]]`` in canvas pixels of a ``width`` x ``height``
    drawing area; ``t`` is ignored. A single-point stroke becomes a round dot.
    """
    big = SIZE * SUPERSAMPLE
    scale, dx, dy = stroke_transform(width, height, big)
    line_width = STROKE_WIDTH * SUPERSAMPLE
    radius = line_width / 2
    canvas = Image.new("L", (big, big), 0)
    draw = ImageDraw.Draw(canvas)
    for stroke in strokes:
        points = [
            (x * scale + dx, y * scale + dy) for x, y in zip(stroke[0], stroke[1], strict=False)
        ]
        if len(points) > 1:
            draw.line(points, fill=255, width=line_width, joint="curve")
        # Round caps: Pillow's line ends are square, so a disc finishes each end (and makes dots).
        for x, y in {points[0], points[-1]}:
            draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=255)
    return canvas.reduce(SUPERSAMPLE)


def encode_png(alpha: Image.Image) -> bytes:
    """Encode an ink mask as a black-on-transparent RGBA PNG."""
    black = Image.new("L", alpha.size, 0)
    rgba = Image.merge("RGBA", (black, black, black, alpha))
    buffer = io.BytesIO()
    rgba.save(buffer, format="PNG", optimize=False, compress_level=6)
    return buffer.getvalue()


def render_png(strokes: Sequence[Stroke], width: float, height: float) -> bytes:
    """Rasterize ``strokes`` drawn on a ``width`` x ``height`` canvas into CoMNIST PNG bytes."""
    return encode_png(render_alpha(strokes, width, height))
