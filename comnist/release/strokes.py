"""Quick, Draw!-style strokes: the raw strokes as collected and their simplified form.

Quick, Draw!'s simplified drawings are made by aligning the drawing to the top-left corner
(minimum values 0), scaling it uniformly so its larger extent spans 0-255, resampling every stroke
with 1-pixel spacing, and simplifying each stroke with the Ramer-Douglas-Peucker algorithm with
epsilon 2.0; coordinates are then integers and timing is dropped. This module does the same.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

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
    array = np.asarray(points, dtype=np.float64)
    steps = np.hypot(*np.diff(array, axis=0).T)
    array = np.concatenate([array[:1], array[1:][steps > 0]])  # interpolation needs progress
    if len(array) < 2:
        return [points[0]]
    along = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(array, axis=0).T))])
    positions = np.arange(0.0, along[-1], spacing)
    xs = np.interp(positions, along, array[:, 0])
    ys = np.interp(positions, along, array[:, 1])
    result = list(zip(xs.tolist(), ys.tolist(), strict=True))
    last = (float(array[-1, 0]), float(array[-1, 1]))
    if result[-1] != last:
        result.append(last)
    return result


def _distances(points: np.ndarray, start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """Perpendicular distances from ``points`` to the line through ``start`` and ``end``."""
    direction = end - start
    length = math.hypot(*direction)
    offsets = points - start
    if length == 0:
        return np.hypot(offsets[:, 0], offsets[:, 1])
    return np.abs(direction[0] * offsets[:, 1] - direction[1] * offsets[:, 0]) / length


def rdp(points: Sequence[Point], epsilon: float = EPSILON) -> list[Point]:
    """Ramer-Douglas-Peucker simplification of a polyline (iterative, so long strokes are safe)."""
    if len(points) < 3:
        return list(points)
    array = np.asarray(points, dtype=np.float64)
    keep = np.zeros(len(points), dtype=bool)
    keep[0] = keep[-1] = True
    pending = [(0, len(points) - 1)]
    while pending:
        first, last = pending.pop()
        if last - first < 2:
            continue
        distances = _distances(array[first + 1 : last], array[first], array[last])
        farthest = int(np.argmax(distances))
        if distances[farthest] > epsilon:
            index = first + 1 + farthest
            keep[index] = True
            pending.extend(((first, index), (index, last)))
    return [point for point, kept in zip(points, keep.tolist(), strict=True) if kept]


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
