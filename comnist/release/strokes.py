"""Quick, Draw!-style strokes: the raw strokes as collected and their simplified form.

Quick, Draw!'s simplified drawings are made by aligning the drawing to the top-left corner
(minimum values 0), scaling it uniformly so its larger extent spans 0-255, resampling every stroke
with 1-pixel spacing, and simplifying each stroke with the Ramer-Douglas-Peucker algorithm with
epsilon 2.0; coordinates are then integers and timing is dropped. This module does the same.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

EXTENT = 255
SPACING = 1.0
EPSILON = 2.0

Point = tuple[float, float]
RawStroke = Sequence[Sequence[float]]


def normalise(strokes: Sequence[RawStroke]) -> list[list[Point]]:
    """Shift the points so the minima are 0 and scale uniformly so the larger extent is 255."""
    xs = [x for stroke in strokes for x in stroke[0]]
    ys = [y for stroke in strokes for y in stroke[1]]
    if not xs:
        return []
    left, top = min(xs), min(ys)
    extent = max(max(xs) - left, max(ys) - top)
    scale = EXTENT / extent if extent > 0 else 1.0
    return [
        [
            ((x - left) * scale, (y - top) * scale)
            for x, y in zip(stroke[0], stroke[1], strict=False)
        ]
        for stroke in strokes
    ]


def resample(points: Sequence[Point], spacing: float = SPACING) -> list[Point]:
    """Points every ``spacing`` along the polyline, keeping its first and last point."""
    if len(points) < 2:
        return list(points)
    result = [points[0]]
    needed = spacing  # distance still to walk before the next sample
    for (x0, y0), (x1, y1) in zip(points, points[1:], strict=False):
        length = math.hypot(x1 - x0, y1 - y0)
        position = 0.0
        while length - position >= needed:
            position += needed
            t = position / length
            result.append((x0 + (x1 - x0) * t, y0 + (y1 - y0) * t))
            needed = spacing
        needed -= length - position
    if result[-1] != points[-1]:
        result.append(points[-1])
    return result


def _distance_to_segment(point: Point, start: Point, end: Point) -> float:
    """Perpendicular distance from ``point`` to the line through ``start`` and ``end``."""
    (px, py), (ax, ay), (bx, by) = point, start, end
    dx, dy = bx - ax, by - ay
    length = math.hypot(dx, dy)
    if length == 0:
        return math.hypot(px - ax, py - ay)
    return abs(dy * px - dx * py + bx * ay - by * ax) / length


def rdp(points: Sequence[Point], epsilon: float = EPSILON) -> list[Point]:
    """Ramer-Douglas-Peucker simplification of a polyline (iterative, so long strokes are safe)."""
    if len(points) < 3:
        return list(points)
    keep = [False] * len(points)
    keep[0] = keep[-1] = True
    pending = [(0, len(points) - 1)]
    while pending:
        first, last = pending.pop()
        farthest, distance = first, 0.0
        for index in range(first + 1, last):
            d = _distance_to_segment(points[index], points[first], points[last])
            if d > distance:
                farthest, distance = index, d
        if distance > epsilon:
            keep[farthest] = True
            pending.extend(((first, farthest), (farthest, last)))
    return [point for point, kept in zip(points, keep, strict=True) if kept]


def _integers(points: Sequence[Point]) -> list[list[int]]:
    """Round to integer ``[[x...], [y...]]``, dropping consecutive repeats that rounding creates."""
    xs: list[int] = []
    ys: list[int] = []
    for x, y in points:
        ix, iy = min(EXTENT, max(0, round(x))), min(EXTENT, max(0, round(y)))
        if not xs or (ix, iy) != (xs[-1], ys[-1]):
            xs.append(ix)
            ys.append(iy)
    return [xs, ys]


def simplify(strokes: Sequence[RawStroke]) -> list[list[list[int]]]:
    """Quick, Draw!'s simplified form of raw ``[[x...], [y...], [t...]]`` strokes: ``[[x...], [y...]]`` in 0-255."""
    return [_integers(rdp(resample(stroke))) for stroke in normalise(strokes) if stroke]
