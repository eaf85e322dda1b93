"""The site's letter guess on the Python side: stroke pictures, the compact model file, the build."""

from __future__ import annotations

import json
import random
import re

import numpy as np

import build_site
from chalicelib.raster import render_png
from letterstrokes import TEMPLATES, hand_drawn_strokes
from sanitizer import ModelSet
from sanitizer.classifier import LetterClassifier
from sanitizer.features import ink_box, letter_descriptors, letter_picture
from sanitizer.image import decode_ink
from sanitizer.model import judged_probabilities
from sanitizer.recognizer import (
    classify_strokes,
    diagonal_bins,
    export_recognizer,
    load_recognizer,
    stroke_ink,
)


def random_model(seed: int = 0) -> ModelSet:
    """Three cross-fitted classifiers with random weights of the real shapes, for Latin only."""
    rng = np.random.default_rng(seed)
    labels = [*sorted(TEMPLATES), "*"]
    folds = [
        LetterClassifier(
            labels,
            rng.normal(0, 0.1, (392, 128)),
            rng.normal(0, 0.1, 128),
            rng.normal(0, 0.3, (128, len(labels))),
            rng.normal(0, 0.1, len(labels)),
        )
        for _ in range(3)
    ]
    return ModelSet("m-random", "2026-01-01T00:00:00Z", classifiers={"latin": folds})


def test_stroke_ink_draws_what_the_collector_stores():
    rng = random.Random(4)
    for letter in TEMPLATES:
        strokes = hand_drawn_strokes(letter, rng)
        ours = stroke_ink(strokes, 300, 300)
        stored = decode_ink(render_png(strokes, 300, 300))
        assert ours.dtype == np.float32 and ours.shape == (278, 278)
        assert np.all(np.round(ours * 255) == ours * np.float32(255)), "whole 1/255 steps"
        assert np.abs(ours - stored).mean() < 0.005, letter
        assert np.abs(np.subtract(ink_box(ours), ink_box(stored))).max() <= 2, letter
        assert np.abs(letter_picture(ours).astype(int) - letter_picture(stored)).mean() < 8


def test_a_dot_is_a_round_dot_and_nothing_is_blank():
    dot = stroke_ink([[[150], [150], [0]]], 300, 300)
    inked = np.argwhere(dot > 0.5)
    assert 13 <= np.ptp(inked[:, 0]) + 1 <= 16 and 13 <= np.ptp(inked[:, 1]) + 1 <= 16
    model = load_recognizer(export_recognizer(random_model(), "latin"))
    assert classify_strokes(model, [], 300, 300) == []


def test_the_compact_file_keeps_the_sanitizer_s_judgement():
    full = random_model()
    data = export_recognizer(full, "latin")
    site = load_recognizer(data)
    assert site.labels == full.classifiers["latin"][0].labels
    assert len(site.judges) == 1, "one classifier keeps the download small"
    original = full.classifiers["latin"][0]
    assert np.abs(site.judges[0].w1 - original.w1).max() <= np.abs(original.w1).max() / 254 + 1e-12
    rng = random.Random(9)
    worst = 0.0
    for letter in TEMPLATES:
        strokes = hand_drawn_strokes(letter, rng)
        ours = dict(classify_strokes(site, strokes, 300, 300))
        exact = judged_probabilities([original], letter_descriptors(stroke_ink(strokes, 300, 300)))
        worst = max(
            worst, max(abs(ours[label] - p) for label, p in zip(site.labels, exact, strict=True))
        )
    # Random weights are spikier than trained ones (the browser test measures a trained model).
    assert worst < 1e-2, worst
    assert export_recognizer(full, "cyrillic") is None


def test_diagonal_bins_are_the_bins_of_the_diagonals():
    bins = diagonal_bins()
    assert len(bins) == 4 and all(0 <= b < 8 for b in bins)
    # Up-right and down-left steps point along the same unsigned direction, near pi/4.
    assert bins[0] in (1, 2) and bins[2] in (1, 2)
    assert bins[1] in (5, 6) and bins[3] in (5, 6)


def config_of(html: str) -> dict:
    return json.loads(
        re.search(r'<script id="config" type="application/json">(.*?)</script>', html).group(1)
    )


def test_the_site_ships_the_model_per_alphabet_only_when_there_is_one(tmp_path):
    without = build_site.build(tmp_path / "plain")
    assert config_of((without / "en" / "index.html").read_text())["recognizer"] is None
    assert not list((without / "assets").glob("letters-*"))
    out = build_site.build(tmp_path / "site", model=random_model())
    spec = config_of((out / "en" / "index.html").read_text())["recognizer"]
    assert set(spec["models"]) == {"latin"} and spec["script"].startswith("/assets/recognizer.")
    (path,) = (out / "assets").glob("letters-latin.*.bin")
    assert spec["models"]["latin"] == f"/assets/{path.name}"
    assert load_recognizer(path.read_bytes()).labels[-1] == "*"
