"""Per-drawing statistics, transformed toward Gaussian shape as Ng's anomaly detection expects.

Each feature is listed in :data:`FEATURES` with what it catches. Ratios and sizes are
right-skewed, so they are taken as logs; densities as square roots. Only image features enter
the models, so drawings without strokes (the 2017 images) are scored like new ones; stroke
statistics are reported beside them.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PIL import Image

from .augment import views

INK_THRESHOLD = 0.2
ZONES = 3
NORMALISED = 20
DESCRIPTOR_SIDE = 28
PICTURE_SIDE = 40
DESCRIPTOR_CELLS = 7
DESCRIPTOR_BINS = 8
# The collector draws every stroke 15 px wide on its 278 px canvas, as the 2017 site did.
STROKE_WIDTH = 15.0

FEATURES: dict[str, str] = {
    "ink": "log ink ratio: blank pages and dots are too low, filled scribbles too high",
    "width": "log bounding-box width: tiny marks",
    "height": "log bounding-box height: tiny marks, flat lines",
    "aspect": "log height/width: each letter has its proportions",
    "cover": "log ink per bounding-box area: scribbles fill their box, letters do not",
    "cx": "centre of mass across the box: left-heavy Г against symmetric Т",
    "cy": "centre of mass down the box: top-heavy Р against bottom-heavy Ь",
    "sxx": "sqrt horizontal spread in the box: О against I",
    "syy": "sqrt vertical spread in the box",
    "sxy": "correlation of x and y: diagonal strokes of Л, Д, N",
    "parts": "log(1 + connected components): text, dots and multi-part doodles",
    "holes": "log(1 + enclosed regions): wheels, windows and eyes of doodles; a capital has 0-2",
    **{
        f"z{i}{j}": f"sqrt ink density of zone ({i},{j}) of the box: the letter's layout"
        for i in range(ZONES)
        for j in range(ZONES)
    },
}
FEATURE_NAMES: tuple[str, ...] = tuple(FEATURES)


def ink_box(ink: np.ndarray, threshold: float = INK_THRESHOLD) -> tuple[int, int, int, int] | None:
    """Return ``(top, left, bottom, right)`` (exclusive) of the inked area, or ``None`` when blank."""
    rows = np.flatnonzero((ink > threshold).any(axis=1))
    cols = np.flatnonzero((ink > threshold).any(axis=0))
    if rows.size == 0:
        return None
    return int(rows[0]), int(cols[0]), int(rows[-1]) + 1, int(cols[-1]) + 1


def _runs(mask: np.ndarray) -> list[list[tuple[int, int]]]:
    """Per row of a boolean image, ``(start, end)`` (end exclusive) of each run of True.

    Found for the whole image at once: one ``diff`` instead of one per row.
    """
    padded = np.pad(np.asarray(mask, dtype=np.int8), ((0, 0), (1, 1)))
    rows, edges = np.nonzero(np.diff(padded, axis=1))
    runs: list[list[tuple[int, int]]] = [[] for _ in range(len(padded))]
    # Edges alternate start, end within each row, in order.
    for row, start, end in zip(
        rows[::2].tolist(), edges[::2].tolist(), edges[1::2].tolist(), strict=True
    ):
        runs[row].append((start, end))
    return runs


def count_components(mask: np.ndarray) -> int:
    """Count 8-connected components of a small boolean image.

    Runs of each row are joined to the runs of the row above that touch them, diagonals
    included, with a union-find: a few hundred runs at the sizes used here, whatever the shape.
    """
    parent: list[int] = []

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    above: list[tuple[int, int, int]] = []
    for row_runs in _runs(mask):
        current = []
        for start, end in row_runs:
            run = len(parent)
            parent.append(run)
            for other_start, other_end, other in above:
                if other_start <= end and start <= other_end:
                    a, b = root(run), root(other)
                    if a != b:
                        parent[max(a, b)] = min(a, b)
            current.append((start, end, run))
        above = current
    return sum(1 for i in range(len(parent)) if root(i) == i)


def ink_thickness(ink: np.ndarray, threshold: float = 0.5) -> float:
    """How thick the ink is, in pixels: twice its area over its perimeter.

    A stroke of width ``w`` and length ``L`` has area ``wL`` and a perimeter of about ``2L``,
    so a line drawing measures its stroke width whatever its box (a one-stroke I as much as a
    Ж), while a filled disc of radius ``r`` measures ``r`` and a filled box of side ``s``
    measures ``s / 2``. The perimeter is the number of inked pixels with an uninked
    4-neighbour. Returns 0 for a blank map.
    """
    inked = np.pad(ink > threshold, 1)
    area = int(inked.sum())
    if area == 0:
        return 0.0
    centre = inked[1:-1, 1:-1]
    interior = centre & inked[:-2, 1:-1] & inked[2:, 1:-1] & inked[1:-1, :-2] & inked[1:-1, 2:]
    return 2.0 * area / max(area - int(interior.sum()), 1)


def _downsample(ink: np.ndarray, size: int) -> np.ndarray:
    image = Image.fromarray(np.clip(ink * 255, 0, 255).astype(np.uint8))
    return np.asarray(image.resize((size, size), Image.BOX), dtype=np.float32) / 255.0


def image_features(ink: np.ndarray) -> dict[str, float] | None:
    """Return the named features of an ink map, or ``None`` for a blank drawing."""
    box = ink_box(ink)
    if box is None:
        return None
    top, left, bottom, right = box
    size = ink.shape[0]
    height, width = bottom - top, right - left
    crop = ink[top:bottom, left:right]
    mass = float(crop.sum())
    ys, xs = np.mgrid[0:height, 0:width]
    u = (xs + 0.5) / width
    v = (ys + 0.5) / height
    cx = float((crop * u).sum() / mass)
    cy = float((crop * v).sum() / mass)
    sxx = float((crop * (u - cx) ** 2).sum() / mass)
    syy = float((crop * (v - cy) ** 2).sum() / mass)
    sxy = float((crop * (u - cx) * (v - cy)).sum() / mass)
    zones = {}
    for i in range(ZONES):
        for j in range(ZONES):
            part = crop[
                i * height // ZONES : (i + 1) * height // ZONES,
                j * width // ZONES : (j + 1) * width // ZONES,
            ]
            zones[f"z{i}{j}"] = float(np.sqrt(part.mean())) if part.size else 0.0
    coarse = _downsample(ink, 35) > 0.25
    parts = count_components(coarse)
    # Background components that do not touch the border are regions the ink encloses.
    holes = count_components(np.pad(~coarse, 1, constant_values=True)) - 1
    features = {
        "ink": float(np.log(mass / ink.size + 1e-4)),
        "width": float(np.log(width / size)),
        "height": float(np.log(height / size)),
        "aspect": float(np.log(height / width)),
        "cover": float(np.log(mass / (height * width) + 1e-4)),
        "cx": cx,
        "cy": cy,
        "sxx": float(np.sqrt(sxx)),
        "syy": float(np.sqrt(syy)),
        "sxy": float(sxy / (np.sqrt(sxx * syy) + 1e-6)),
        "parts": float(np.log1p(parts)),
        "holes": float(np.log1p(holes)),
        **zones,
        # A limit's measure, not a model feature (not in FEATURE_NAMES).
        "thickness": ink_thickness(ink),
    }
    return features


def feature_vector(features: dict[str, float]) -> np.ndarray:
    """The features in :data:`FEATURE_NAMES` order as a float64 vector."""
    return np.array([features[name] for name in FEATURE_NAMES], dtype=np.float64)


def normalised_image(ink: np.ndarray, size: int = NORMALISED) -> np.ndarray | None:
    """The inked box scaled into ``size`` x ``size`` keeping its aspect, centred (MNIST-like)."""
    box = ink_box(ink)
    if box is None:
        return None
    top, left, bottom, right = box
    crop = ink[top:bottom, left:right]
    side = max(crop.shape)
    square = np.zeros((side, side), dtype=np.float32)
    oy, ox = (side - crop.shape[0]) // 2, (side - crop.shape[1]) // 2
    square[oy : oy + crop.shape[0], ox : ox + crop.shape[1]] = crop
    return _downsample(square, size)


def stroke_features(record: dict[str, Any] | None) -> dict[str, float]:
    """Stroke count, path length (in canvas diagonals) and duration (s) of a drawing record."""
    strokes = (record or {}).get("strokes")
    canvas = (record or {}).get("canvas") or {}
    if not strokes or not canvas:
        return {}
    # Records are validated at intake, but an edited or foreign record must not break tagging.
    try:
        diagonal = float(np.hypot(canvas.get("width", 1), canvas.get("height", 1))) or 1.0
        length = 0.0
        for xs, ys, _ in strokes:
            if len(xs) > 1:
                length += float(np.hypot(np.diff(xs), np.diff(ys)).sum())
        duration = float(strokes[-1][2][-1]) / 1000.0 if strokes[-1][2] else 0.0
    except (TypeError, ValueError, IndexError, AttributeError):
        return {}
    values = {"strokes": float(len(strokes)), "path": length / diagonal, "seconds": duration}
    return values if all(np.isfinite(v) for v in values.values()) else {}


def orientation_histograms(
    images: np.ndarray, cells: int = DESCRIPTOR_CELLS, bins: int = DESCRIPTOR_BINS
) -> np.ndarray:
    """Histograms of stroke directions per cell (HOG-like) of square images, one row per image.

    Parameters
    ----------
    images : np.ndarray
        ``(n, side, side)`` or ``(side, side)`` ink maps; ``side`` divisible by ``cells``.
    cells, bins : int
        A ``cells`` x ``cells`` grid of histograms of ``bins`` unsigned gradient directions.

    Returns
    -------
    np.ndarray
        ``(n, cells * cells * bins)`` float32 rows of length ``cells`` (all zeros when blank).

    Notes
    -----
    Raw pixels tie a letter to where its strokes fall; direction histograms pooled over cells
    describe which way strokes run in each region, which varies less between writers and stroke
    widths. On the 2017 drawings a classifier on them generalises better to unseen writers than
    one on pixels. Magnitudes are square-rooted so a few strong edges do not dominate. Rows have
    length ``cells`` (the root of the number of cells), which puts entries on the order of pixel
    values; with unit rows the perceptron learns too slowly from a small collection.
    """
    grid = np.asarray(images, dtype=np.float32)
    if grid.ndim == 2:
        grid = grid[None]
    n, side, _ = grid.shape
    gy, gx = np.gradient(grid, axis=(1, 2))
    magnitude = np.hypot(gx, gy)
    direction = np.mod(np.arctan2(gy, gx), np.pi)
    which = np.minimum((direction / np.pi * bins).astype(np.int64), bins - 1)
    step = side // cells
    cell_row = np.arange(side) // step
    cell_of = (cell_row[:, None] * cells + cell_row[None, :]).ravel()
    flat = (cell_of[None, :] * bins + which.reshape(n, -1)) + (
        np.arange(n)[:, None] * cells * cells * bins
    )
    sums = np.bincount(flat.ravel(), magnitude.ravel(), minlength=n * cells * cells * bins)
    histograms = np.sqrt(sums.reshape(n, -1))
    norms = np.linalg.norm(histograms, axis=1, keepdims=True)
    return (cells * histograms / np.maximum(norms, 1e-6)).astype(np.float32)


def letter_picture(ink: np.ndarray, side: int = PICTURE_SIDE) -> np.ndarray | None:
    """The inked box of an ink map, centred in a square, as ``side`` x ``side`` uint8 (255 = ink).

    This is what the letter classifier keeps of a drawing: small enough to hold a whole
    collection in memory (1.6 KB each), large enough to be distorted for augmentation
    (:func:`sanitizer.augment.distort`) before the descriptor is taken.
    """
    image = normalised_image(ink, side)
    return None if image is None else np.round(image * 255).astype(np.uint8)


def picture_descriptors(pictures: np.ndarray, chunk: int = 1024) -> np.ndarray:
    """Direction histograms of pictures, each re-boxed into the descriptor's square first.

    ``pictures`` is ``(n, side, side)`` or one ``(side, side)`` uint8 array (255 = ink);
    re-boxing makes a distorted picture (rotated, sheared) fill the square as a drawing would.
    Pictures are taken ``chunk`` at a time: the gradients of a whole collection at once would
    need about 30 KB per drawing (3 GB at 100,000).
    """
    grid = np.asarray(pictures)
    if grid.ndim == 2:
        grid = grid[None]
    rows = DESCRIPTOR_CELLS * DESCRIPTOR_CELLS * DESCRIPTOR_BINS
    out = np.zeros((len(grid), rows), dtype=np.float32)
    for start in range(0, len(grid), chunk):
        part = grid[start : start + chunk]
        squares = np.zeros((len(part), DESCRIPTOR_SIDE, DESCRIPTOR_SIDE), dtype=np.float32)
        for i, picture in enumerate(part):
            square = normalised_image(picture.astype(np.float32) / 255.0, DESCRIPTOR_SIDE)
            if square is not None:
                squares[i] = square
        out[start : start + len(part)] = orientation_histograms(squares)
    return out


def letter_descriptors(ink: np.ndarray) -> np.ndarray | None:
    """The letter classifier's input for an ink map: one row per view; ``None`` if it is blank.

    Each row holds the direction histograms of one of :func:`sanitizer.augment.views` of the
    map's :func:`letter_picture`.
    """
    picture = letter_picture(ink)
    return None if picture is None else picture_descriptors(views(picture))
