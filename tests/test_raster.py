"""The rasterizer draws what the 2017 CoMNIST site drew: 278x278, 15 px round black ink on transparent."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from chalicelib.raster import render_png


def alpha_of(png: bytes) -> np.ndarray:
    image = Image.open(io.BytesIO(png))
    assert image.size == (278, 278) and image.mode == "RGBA"
    rgba = np.asarray(image)
    assert (rgba[..., :3][rgba[..., 3] > 0] == 0).all(), "ink must be black"
    return rgba[..., 3]


def test_horizontal_line_is_15px_wide_with_round_caps_and_antialiased():
    alpha = alpha_of(render_png([[[50, 228], [139, 139], [0, 100]]], 278, 278))
    column = alpha[:, 139]
    assert 14 <= int((column >= 128).sum()) <= 16
    assert ((column > 0) & (column < 255)).any(), "edges are anti-aliased"
    row = alpha[139]
    inked = np.flatnonzero(row >= 128)
    # Round caps reach half the pen width beyond each end point.
    assert 41 <= inked[0] <= 44 and 234 <= inked[-1] <= 237
    assert alpha[0].max() == 0 and alpha[:, 0].max() == 0, "background stays transparent"


def test_canvas_is_scaled_uniformly_and_centred():
    # A 600x300 canvas: scale 278/600, centred vertically. A dot in the canvas centre lands in the image centre.
    alpha = alpha_of(render_png([[[300], [150], [0]]], 600, 300))
    ys, xs = np.nonzero(alpha >= 128)
    assert abs(xs.mean() - 138.5) < 1 and abs(ys.mean() - 138.5) < 1
    # A line across the full width spans the full image width.
    alpha = alpha_of(render_png([[[0, 600], [150, 150], [0, 10]]], 600, 300))
    assert alpha[139, 8] == 255 and alpha[139, 270] == 255
    assert alpha[60].max() == 0


def test_single_point_is_a_dot_and_points_outside_are_clipped():
    alpha = alpha_of(render_png([[[10], [10], [0]], [[-40, 320], [-40, 320], [0, 5]]], 300, 300))
    assert alpha[10, 10] == 255
    assert alpha[277, 277] == 255 and alpha[0, 0] == 255
