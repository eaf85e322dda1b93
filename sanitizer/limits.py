"""The sanitizer's absolute limits: what no letter is, whatever the model."""

from __future__ import annotations

import numpy as np

from .features import STROKE_WIDTH

# Absolute limits, valid whatever the model: a letter drawn with the collector's 15 px strokes
# spans more than 15 % of the canvas, inks less than 30 % of it, is nowhere thicker than two
# strokes side by side, and encloses at most a few regions (the 4,470 real Cyrillic and 179
# Latin 2017 drawings span at least 29 %, ink at most 22 %, measure at most 22 px thick and
# enclose at most 4 regions: 2 by design in В or Ф, more where sloppy strokes cross; letters of
# regular-weight fonts measure 16-23 px). Dots and tiny marks fall below the first; filled
# scribbles exceed the next two; doodles of wheels, windows and faces the last. "Filled" is
# measured against the stroke width, not the box: a one-stroke I fills its own narrow box.
MIN_SPAN = 0.15
MAX_INK = 0.30
MAX_THICKNESS = 2 * STROKE_WIDTH
MAX_HOLES = 4
# The reasons mark_reasons gives: a drawing tagged with one is a mark, never a letter.
MARK_REASONS = frozenset({"tiny", "ink-high", "filled", "many-holes"})


def mark_reasons(features: dict[str, float]) -> list[str]:
    """Reasons (``tiny``, ``ink-high``, ``filled``, ``many-holes``) a drawing is not a letter."""
    reasons = []
    if np.exp(max(features["width"], features["height"])) < MIN_SPAN:
        reasons.append("tiny")
    if np.exp(features["ink"]) > MAX_INK:
        reasons.append("ink-high")
    if features["thickness"] > MAX_THICKNESS:
        reasons.append("filled")
    if round(np.expm1(features["holes"])) > MAX_HOLES:
        reasons.append("many-holes")
    return reasons
