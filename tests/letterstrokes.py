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
    return template_strokes(TEMPLATES[letter], rng, canvas)


def template_strokes(
    template: list[list[tuple[float, float]]], rng: random.Random, canvas: float = 300.0
) -> list[list[list[float]]]:
    """A template of a 100-unit frame drawn by a hand: jitter, scale, shift and slant."""
    scale = rng.uniform(2.0, 2.8) * canvas / 300
    dx, dy = rng.uniform(0, 0.15 * canvas), rng.uniform(0, 0.15 * canvas)
    slant = rng.uniform(-0.15, 0.15)
    strokes = []
    clock = 0
    for stroke in template:
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


def _ellipse(
    cx: float,
    cy: float,
    rx: float,
    ry: float,
    start: float = -90,
    end: float = 270,
    wobble: float = 0.0,
    points: int = 24,
) -> list[tuple[float, float]]:
    """Points of an elliptic arc (degrees, clockwise on screen), radius bent by ``wobble``."""
    out = []
    for i in range(points + 1):
        angle = math.radians(start + (end - start) * i / points)
        bend = 1 + wobble * math.sin(3 * angle + 1.0) + 0.5 * wobble * math.sin(5 * angle)
        out.append((cx + rx * bend * math.cos(angle), cy + ry * bend * math.sin(angle)))
    return out


# Every Cyrillic capital as a hand draws it, in the same 100-unit frame, then the common
# handwritten variants that fonts do not show. Keys are (letter, form).
CYRILLIC: dict[tuple[str, str], list[list[tuple[float, float]]]] = {
    ("А", "plain"): [[(15, 90), (50, 10), (85, 90)], [(30, 60), (70, 60)]],
    ("Б", "plain"): [
        [(75, 10), (25, 10), (25, 90), (60, 90), (75, 80), (75, 62), (60, 52), (25, 52)]
    ],
    ("В", "plain"): [
        [(25, 90), (25, 10), (58, 10), (72, 18), (72, 35), (58, 48), (25, 48)],
        [(58, 48), (76, 58), (76, 80), (60, 90), (25, 90)],
    ],
    ("Г", "plain"): [[(75, 10), (25, 10), (25, 90)]],
    ("Д", "plain"): [
        [(15, 92), (15, 75), (85, 75), (85, 92)],
        [(25, 75), (40, 10), (68, 10), (72, 75)],
    ],
    ("Д", "triangle"): [[(15, 92), (15, 75), (85, 75), (85, 92)], [(22, 75), (50, 10), (78, 75)]],
    ("Е", "plain"): [[(75, 10), (25, 10), (25, 90), (75, 90)], [(25, 50), (65, 50)]],
    ("Ё", "plain"): [
        [(75, 18), (25, 18), (25, 92), (75, 92)],
        [(25, 55), (65, 55)],
        [(40, 4)],
        [(60, 4)],
    ],
    ("Ж", "touching arms"): [
        [(50, 10), (50, 90)],
        [(15, 10), (50, 50), (15, 90)],
        [(85, 10), (50, 50), (85, 90)],
    ],
    ("Ж", "plain"): [
        [(50, 10), (50, 90)],
        [(12, 10), (36, 50), (12, 90)],
        [(88, 10), (64, 50), (88, 90)],
    ],
    ("Ж", "star"): [[(50, 10), (50, 90)], [(15, 10), (85, 90)], [(85, 10), (15, 90)]],
    ("З", "plain"): [
        [(22, 20), (40, 10), (65, 12), (75, 25), (68, 42), (45, 50)],
        [(45, 50), (72, 58), (78, 75), (65, 90), (40, 92), (20, 82)],
    ],
    ("И", "plain"): [[(25, 10), (25, 90), (75, 10), (75, 90)]],
    ("Й", "plain"): [[(25, 18), (25, 92), (75, 18), (75, 92)], [(38, 2), (50, 8), (62, 2)]],
    ("К", "plain"): [[(25, 10), (25, 90)], [(75, 10), (25, 52), (75, 90)]],
    ("Л", "plain"): [[(15, 90), (30, 80), (40, 10), (75, 10), (75, 90)]],
    ("М", "plain"): [[(15, 90), (20, 10), (50, 70), (80, 10), (85, 90)]],
    ("Н", "plain"): [[(25, 10), (25, 90)], [(75, 10), (75, 90)], [(25, 50), (75, 50)]],
    ("О", "plain"): [_ellipse(50, 50, 32, 40)],
    ("О", "wobbly"): [_ellipse(50, 50, 32, 40, start=-100, end=275, wobble=0.08)],
    ("П", "plain"): [[(25, 90), (25, 10), (75, 10), (75, 90)]],
    ("Р", "plain"): [[(25, 90), (25, 10), (60, 10), (75, 20), (75, 38), (60, 50), (25, 50)]],
    ("С", "plain"): [_ellipse(55, 50, 35, 40, start=-40, end=-320)],
    ("Т", "plain"): [[(15, 10), (85, 10)], [(50, 10), (50, 90)]],
    ("У", "plain"): [[(20, 10), (50, 55)], [(80, 10), (35, 90)]],
    ("У", "tail"): [[(20, 10), (50, 55)], [(80, 10), (50, 80), (38, 92), (22, 88)]],
    ("Ф", "plain"): [[(50, 5), (50, 95)], _ellipse(50, 45, 35, 22)],
    ("Ф", "wide"): [[(50, 8), (50, 92)], _ellipse(50, 45, 48, 18)],
    ("Х", "plain"): [[(20, 10), (80, 90)], [(80, 10), (20, 90)]],
    ("Ц", "plain"): [[(22, 5), (22, 82), (75, 82), (75, 5)], [(75, 82), (88, 82), (88, 97)]],
    ("Ч", "plain"): [[(25, 10), (25, 40), (35, 52), (75, 52)], [(75, 10), (75, 90)]],
    ("Ш", "plain"): [[(15, 10), (15, 90), (85, 90), (85, 10)], [(50, 10), (50, 90)]],
    ("Щ", "plain"): [
        [(12, 5), (12, 82), (78, 82), (78, 5)],
        [(45, 5), (45, 82)],
        [(78, 82), (90, 82), (90, 97)],
    ],
    ("Ъ", "plain"): [
        [(10, 15), (30, 15), (30, 90), (65, 90), (80, 80), (80, 62), (65, 52), (30, 52)]
    ],
    ("Ы", "plain"): [
        [(20, 10), (20, 90), (48, 90), (60, 80), (60, 62), (48, 52), (20, 52)],
        [(82, 10), (82, 90)],
    ],
    ("Ь", "plain"): [[(30, 10), (30, 90), (65, 90), (80, 80), (80, 62), (65, 52), (30, 52)]],
    ("Э", "plain"): [
        [(22, 20), (40, 10), (62, 10), (78, 30), (80, 50), (78, 70), (62, 90), (40, 90), (22, 80)],
        [(40, 50), (80, 50)],
    ],
    ("Ю", "plain"): [[(15, 10), (15, 90)], [(15, 50), (38, 50)], _ellipse(63, 50, 22, 40)],
    ("Я", "plain"): [
        [(75, 90), (75, 10), (40, 10), (25, 20), (25, 38), (40, 50), (75, 50)],
        [(50, 50), (25, 90)],
    ],
}
