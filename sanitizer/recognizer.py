"""The letter check, live in the drawing site: strokes to a picture, and the model in a small file.

The site guesses the letter while it is drawn with the sanitizer's own letter classifiers. Two
things make the browser's guess the sanitizer's:

* :func:`stroke_ink` turns strokes into the ink map the classifiers read. The collector's PNG is
  anti-aliased by Pillow's polygon filling at 4x, which a browser cannot reproduce bit for bit;
  this picture is defined by arithmetic alone, so that ``site/static/recognizer.js`` computes the
  same bytes: the collector's geometry (the canvas scaled uniformly into a centred 278 px square,
  15 px round-capped lines, a lone point a dot) and a pixel's ink ``clamp(8 - d, 0, 1)``, ``d``
  being the distance from the pixel's centre to the nearest stroke segment, in 1/255 steps.
  On synthetic letters it differs from the PNG's ink by 0.0014 of full ink on average (6 % of
  the inked pixels, on the lines' anti-aliased rims, by more than a tenth); the classifiers'
  likeliest letter was the same on both for all 300 drawings of the browser test.
* From the ink map on, the browser reproduces :func:`sanitizer.features.letter_descriptors`
  (Pillow's box reduction and bilinear affine warps in their fixed-point and float32 arithmetic,
  numpy's float32 gradients) and :func:`sanitizer.model.judged_probabilities`, with the weights
  of :func:`export_recognizer`.

:func:`classify_strokes` is the same computation in Python. A browser test feeds the same
strokes to both and checks that they agree.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .augment import VIEWS, _view_matrices, affine_coefficients
from .classifier import LetterClassifier
from .features import (
    DESCRIPTOR_BINS,
    DESCRIPTOR_CELLS,
    DESCRIPTOR_SIDE,
    INK_THRESHOLD,
    PICTURE_SIDE,
    STROKE_WIDTH,
    letter_descriptors,
    orientation_histograms,
)
from .image import SIZE
from .model import ModelSet, judged_probabilities
from .nonletters import NOT_A_LETTER

FORMAT = "comnist-recognizer/1"
MAGIC = b"CMNR"
# The collector's canvas and pen, which the in-browser drawing must match.
INK_SIZE = SIZE
LINE_WIDTH = STROKE_WIDTH
# How many of an alphabet's cross-fitted classifiers the site gets: one keeps the download
# near 60 KB gzipped, three (the sanitizer's full judgement of a new drawing) near 160 KB.
SITE_JUDGES = 1

Stroke = Sequence[Sequence[float]]


def stroke_ink(strokes: Sequence[Stroke], width: float, height: float) -> np.ndarray:
    """The ink of ``strokes`` drawn on a ``width`` x ``height`` canvas, 278 x 278 float32 in [0, 1].

    Every value is ``k / 255`` in float32, like a decoded 8-bit PNG. ``strokes`` are the API's
    ``[[x...], [y...], [t...]]`` in canvas pixels; ``t`` is ignored.
    """
    scale = INK_SIZE / max(width, height)
    dx = (INK_SIZE - width * scale) / 2
    dy = (INK_SIZE - height * scale) / 2
    edge = LINE_WIDTH / 2 + 0.5
    alpha = np.zeros((INK_SIZE, INK_SIZE), dtype=np.uint8)
    for stroke in strokes:
        xs = np.asarray(stroke[0], dtype=np.float64) * scale + dx
        ys = np.asarray(stroke[1], dtype=np.float64) * scale + dy
        if len(xs) == 0:
            continue
        starts = range(max(len(xs) - 1, 1))
        for i in starts:
            j = min(i + 1, len(xs) - 1)
            ax, ay, bx, by = xs[i], ys[i], xs[j], ys[j]
            left = max(int(np.floor(min(ax, bx) - edge)), 0)
            right = min(int(np.ceil(max(ax, bx) + edge)) + 1, INK_SIZE)
            top = max(int(np.floor(min(ay, by) - edge)), 0)
            bottom = min(int(np.ceil(max(ay, by) + edge)) + 1, INK_SIZE)
            if left >= right or top >= bottom:
                continue
            px = np.arange(left, right, dtype=np.float64) + 0.5
            py = np.arange(top, bottom, dtype=np.float64)[:, None] + 0.5
            alpha[top:bottom, left:right] = np.maximum(
                alpha[top:bottom, left:right], _segment_ink(px, py, ax, ay, bx, by, edge)
            )
    return alpha.astype(np.float32) / np.float32(255)


def _segment_ink(
    px: np.ndarray, py: np.ndarray, ax: float, ay: float, bx: float, by: float, edge: float
) -> np.ndarray:
    """Ink (0-255) of pixel centres ``px`` x ``py`` from the segment a-b; the JS does these steps."""
    vx, vy = bx - ax, by - ay
    length2 = vx * vx + vy * vy
    wx, wy = px - ax, py - ay
    t = np.clip((wx * vx + wy * vy) / length2, 0.0, 1.0) if length2 > 0 else 0.0
    qx, qy = wx - t * vx, wy - t * vy
    distance = np.sqrt(qx * qx + qy * qy)
    cover = np.clip(edge - distance, 0.0, 1.0)
    return np.floor(cover * 255 + 0.5).astype(np.uint8)


@dataclass
class Recognizer:
    """An alphabet's letter classifiers as the site has them (weights after quantisation)."""

    alphabet: str
    labels: list[str]
    judges: list[LetterClassifier]


def classify_strokes(
    recognizer: Recognizer, strokes: Sequence[Stroke], width: float, height: float
) -> list[tuple[str, float]]:
    """``(label, probability)`` for every label, likeliest first; empty for a blank drawing."""
    descriptors = letter_descriptors(stroke_ink(strokes, width, height))
    if descriptors is None:
        return []
    probabilities = judged_probabilities(recognizer.judges, descriptors)
    order = np.argsort(-probabilities, kind="stable")
    return [(recognizer.labels[i], float(probabilities[i])) for i in order]


def _quantise(weights: np.ndarray) -> tuple[np.ndarray, list[float]]:
    """Symmetric int8 per output column: ``weights ~ q * scale``."""
    peak = np.abs(weights).max(axis=0)
    scale = np.where(peak > 0, peak / 127.0, 1.0)
    q = np.clip(np.round(weights / scale), -127, 127).astype(np.int8)
    return q, [float(s) for s in scale]


def diagonal_bins() -> list[int]:
    """The direction bins numpy gives exact diagonals here, for (+,+), (-,+), (-,-), (+,-) steps.

    numpy's float32 ``arctan2`` is not correctly rounded on every CPU (its AVX-512 code returns
    pi/4 one unit low), so an exactly diagonal gradient falls on one side of a bin edge or the
    other depending on the machine. The file records this machine's side for the browser.
    """
    ramp = np.arange(DESCRIPTOR_SIDE, dtype=np.float32) / np.float32(64)
    bins = []
    for sx, sy in ((1, 1), (-1, 1), (-1, -1), (1, -1)):
        image = sx * ramp[None, :] + sy * ramp[:, None]
        histogram = orientation_histograms(image.astype(np.float32), cells=1)[0]
        bins.append(int(np.argmax(histogram)))
    return bins


def export_recognizer(model: ModelSet, alphabet: str, judges: int = SITE_JUDGES) -> bytes | None:
    """The site's compact file of ``alphabet``'s classifiers, or ``None`` when it has none.

    Layout: ``CMNR``, a little-endian uint32 header length, a UTF-8 JSON header (labels, the
    views' Pillow coefficients, the descriptor's constants, per classifier the float biases and
    the int8 weights' per-column scales), then per classifier ``w1`` and ``w2`` as int8,
    row-major.
    """
    folds = model.classifiers.get(alphabet)
    if not folds:
        return None
    header = {
        "format": FORMAT,
        "alphabet": alphabet,
        "model": model.version,
        "labels": folds[0].labels,
        "not_a_letter": NOT_A_LETTER,
        "ink": {"size": INK_SIZE, "line_width": LINE_WIDTH},
        "picture_side": PICTURE_SIDE,
        "descriptor_side": DESCRIPTOR_SIDE,
        "cells": DESCRIPTOR_CELLS,
        "bins": DESCRIPTOR_BINS,
        "ink_threshold": INK_THRESHOLD,
        "diagonal_bins": diagonal_bins(),
        "views": [affine_coefficients(m, PICTURE_SIDE) for m in _view_matrices(VIEWS)],
        "classifiers": [],
    }
    blobs = []
    for judge in folds[:judges]:
        w1, w1_scale = _quantise(np.asarray(judge.w1, dtype=np.float64))
        w2, w2_scale = _quantise(np.asarray(judge.w2, dtype=np.float64))
        header["classifiers"].append(
            {
                "inputs": int(w1.shape[0]),
                "hidden": int(w1.shape[1]),
                "w1_scale": w1_scale,
                "b1": [float(b) for b in judge.b1],
                "w2_scale": w2_scale,
                "b2": [float(b) for b in judge.b2],
            }
        )
        blobs += [w1.tobytes(), w2.tobytes()]
    text = json.dumps(header, ensure_ascii=False, separators=(",", ":")).encode()
    return MAGIC + struct.pack("<I", len(text)) + text + b"".join(blobs)


def load_recognizer(data: bytes) -> Recognizer:
    """Read a file of :func:`export_recognizer` back into classifiers, weights as the site has them."""
    if data[:4] != MAGIC:
        raise ValueError("not a recognizer file")
    (length,) = struct.unpack("<I", data[4:8])
    header = json.loads(data[8 : 8 + length])
    if header.get("format") != FORMAT:
        raise ValueError("recognizer file of another format")
    offset = 8 + length
    judges = []
    labels = header["labels"]
    for spec in header["classifiers"]:
        shapes = [(spec["inputs"], spec["hidden"]), (spec["hidden"], len(labels))]
        weights = []
        for shape, scale in zip(shapes, (spec["w1_scale"], spec["w2_scale"]), strict=True):
            size = shape[0] * shape[1]
            q = np.frombuffer(data, dtype=np.int8, count=size, offset=offset).reshape(shape)
            weights.append(q.astype(np.float64) * np.asarray(scale))
            offset += size
        judges.append(
            LetterClassifier(
                list(labels), weights[0], np.asarray(spec["b1"]), weights[1], np.asarray(spec["b2"])
            )
        )
    return Recognizer(header["alphabet"], list(labels), judges)
