"""Writer-to-writer variation, simulated: random affine distortions of letter pictures.

A collection of a few thousand drawings holds only a few dozen writers per letter; a classifier
trained on it alone learns those writers' slant and proportions and judges a new writer's
letter as unlikely. Distorting each training picture the way writers differ (a few degrees of
rotation, slant, wider or taller letters) before taking its descriptor makes the letter check
generalise to writers it has never seen: on the 2017 drawings, judged by writer, accuracy rises
from 81 % to 86 % with ten distorted copies of each drawing.

The letter check also judges each drawing through fixed views of it (:func:`views`): the
drawing and four distortions, their log-probabilities averaged. At the same threshold, on two
writer splits of the 2017 drawings, this flagged 29 and 21 genuine drawings instead of 40 and 27
and caught almost as much junk (recall 0.91 and 0.89 instead of 0.93 and 0.91).
"""

from __future__ import annotations

import math
from functools import cache

import numpy as np
from PIL import Image

MAX_ROTATION_DEGREES = 12.0
MAX_SHEAR = 0.25
MAX_LOG_SCALE = 0.15
# The letter check also judges a drawing through a few distorted views of it; they are drawn
# once from a fixed seed, so that scoring the same drawing again gives the same verdict.
VIEWS = 4
VIEW_SEED = 20170


def affine_matrix(rng: np.random.Generator) -> np.ndarray:
    """A random 2x2 map: rotation, then slant (shear), then independent x and y scaling."""
    angle = math.radians(rng.uniform(-MAX_ROTATION_DEGREES, MAX_ROTATION_DEGREES))
    shear = rng.uniform(-MAX_SHEAR, MAX_SHEAR)
    sx, sy = np.exp(rng.uniform(-MAX_LOG_SCALE, MAX_LOG_SCALE, size=2))
    cos, sin = math.cos(angle), math.sin(angle)
    rotation = np.array([[cos, -sin], [sin, cos]])
    return rotation @ np.array([[1.0, shear], [0.0, 1.0]]) @ np.diag([sx, sy])


def distort(picture: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Apply ``matrix`` about the centre of a uint8 picture, on a canvas twice its side.

    The doubled canvas keeps a rotated or widened letter whole; the descriptor re-boxes it.
    """
    side = picture.shape[0]
    canvas = np.zeros((2 * side, 2 * side), dtype=np.uint8)
    canvas[side // 2 : side // 2 + side, side // 2 : side // 2 + side] = picture
    image = Image.fromarray(canvas).transform(
        canvas.shape[::-1], Image.AFFINE, affine_coefficients(matrix, side), Image.BILINEAR
    )
    return np.asarray(image, dtype=np.uint8)


def affine_coefficients(matrix: np.ndarray, side: int) -> tuple[float, ...]:
    """Pillow's six AFFINE coefficients applying ``matrix`` about the centre of the doubled canvas.

    Pillow maps each output pixel back through the inverse transform.
    """
    inverse = np.linalg.inv(matrix)
    centre = np.array([side, side], dtype=np.float64)
    offset = centre - inverse @ centre
    return tuple(float(c) for c in (*inverse[0], offset[0], *inverse[1], offset[1]))


def distorted_copies(pictures: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One randomly distorted copy of each picture in ``(n, side, side)`` uint8 ``pictures``."""
    return np.stack([distort(picture, affine_matrix(rng)) for picture in pictures])


def views(picture: np.ndarray, count: int = VIEWS) -> np.ndarray:
    """The picture and ``count`` fixed distortions of it, ``(count + 1, 2 side, 2 side)`` uint8.

    The distortions are the same for every picture (:data:`VIEW_SEED`); the first view is the
    picture itself, only placed on the doubled canvas like the others.
    """
    return np.stack([distort(picture, matrix) for matrix in _view_matrices(count)])


@cache
def _view_matrices(count: int) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(VIEW_SEED)
    return (np.eye(2), *(affine_matrix(rng) for _ in range(count)))
