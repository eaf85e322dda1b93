"""Hand-drawn-looking Latin capitals as API strokes, and a letter model fitted on them."""

from __future__ import annotations

import math
import random
import uuid

from chalicelib.raster import render_png

TEMPLATES: dict[str, list[list[tuple[float, float]]]] = {
    "T": [[(20, 15), (80, 15)], [(50, 15), (50, 90)]],
    "L": [[(25, 10), (25, 88), (80, 88)]],
    "O": [
        [
            (50 + 35 * math.cos(a / 20 * 2 * math.pi), 50 + 40 * math.sin(a / 20 * 2 * math.pi))
            for a in range(21)
        ]
    ],
    "X": [[(20, 12), (80, 88)], [(80, 12), (20, 88)]],
    "A": [[(15, 90), (50, 10), (85, 90)], [(30, 60), (70, 60)]],
    "H": [[(22, 10), (22, 90)], [(78, 10), (78, 90)], [(22, 50), (78, 50)]],
    "V": [[(15, 10), (50, 90), (85, 10)]],
    "Z": [[(20, 12), (80, 12), (20, 88), (80, 88)]],
}


def hand_drawn_strokes(
    letter: str, rng: random.Random, canvas: float = 300.0
) -> list[list[list[float]]]:
    """The letter's template with jitter, scale and shift, sampled every few pixels like a pointer."""
    scale = rng.uniform(2.0, 2.8) * canvas / 300
    dx, dy = rng.uniform(0, 0.15 * canvas), rng.uniform(0, 0.15 * canvas)
    slant = rng.uniform(-0.15, 0.15)
    strokes = []
    clock = 0
    for stroke in TEMPLATES[letter]:
        corners = [
            (
                x * scale + dx + slant * (50 - y) * scale + rng.gauss(0, 3),
                y * scale + dy + rng.gauss(0, 3),
            )
            for x, y in stroke
        ]
        xs, ys, ts = [], [], []
        for (x0, y0), (x1, y1) in zip(corners, corners[1:], strict=False):
            steps = max(1, int(math.hypot(x1 - x0, y1 - y0) / 4))
            for i in range(steps):
                xs.append(round(x0 + (x1 - x0) * i / steps + rng.gauss(0, 0.6), 1))
                ys.append(round(y0 + (y1 - y0) * i / steps + rng.gauss(0, 0.6), 1))
                ts.append(clock)
                clock += 8
        xs.append(round(corners[-1][0], 1))
        ys.append(round(corners[-1][1], 1))
        ts.append(clock)
        clock += 200
        strokes.append([xs, ys, ts])
    return strokes


def letter_model(alphabet: str = "latin", per_letter: int = 30, seed: int = 5):
    """A :class:`sanitizer.ModelSet` fitted on synthetic drawings of :data:`TEMPLATES`."""
    from sanitizer import extract, fit_models

    rng = random.Random(seed)
    samples = []
    for letter in TEMPLATES:
        for _ in range(per_letter):
            png = render_png(hand_drawn_strokes(letter, rng), 300, 300)
            drawing = str(uuid.UUID(int=rng.getrandbits(128), version=4))
            samples.append(extract(png, drawing, alphabet, letter))
    return fit_models(samples, min_drawings=20, classifier_epochs=12, version="m-test")
