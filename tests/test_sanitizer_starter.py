"""The starter letter check: every alphabet has one on day one, trained from letters drawn in the
shapes of fonts, and the collection's own drawings take over as they accumulate."""

from __future__ import annotations

import math
import random
from pathlib import Path

import numpy as np
import pytest
from test_sanitizer import DOODLES, SHAPES, drawing_id, hand_drawn_png, letter_png

from chalicelib import sanitizing
from chalicelib.alphabets import alphabets
from chalicelib.keys import DrawingRef
from chalicelib.raster import render_alpha
from chalicelib.storage import LocalStorage
from sanitizer import extract, fit_models, score_drawing, starter_model
from sanitizer.features import PICTURE_SIDE
from sanitizer.nonletters import NOT_A_LETTER
from sanitizer.starter import (
    STARTER_VERSION,
    TAKEOVER_DRAWINGS,
    _pictures,
    font_letter_pictures,
    starter_alphabets,
    starter_fill,
)

FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")


def test_the_shipped_starter_has_a_classifier_for_every_letter_of_every_alphabet():
    model = starter_model()
    assert model is not None and model.version == STARTER_VERSION and model.letters == {}
    for alphabet in alphabets().values():
        (classifier,) = model.classifiers[alphabet.id]
        assert classifier.labels == [*sorted(alphabet.letters), NOT_A_LETTER]
    assert starter_alphabets() == set(alphabets())


def day_one_verdict(store, letter, png, rng):
    ref = DrawingRef("latin", letter, drawing_id(rng))
    store.put(ref.png_key, png, content_type="image/png")
    return sanitizing.tag_drawing(store, ref.png_key)


def test_on_day_one_latin_letters_are_checked_without_a_single_drawing_in_the_store(tmp_path):
    store = LocalStorage(tmp_path / "drawings")
    rng = random.Random(14)
    genuine = [day_one_verdict(store, s, letter_png(s, rng), rng) for s in SHAPES for _ in range(5)]
    assert all(tags["model"] == STARTER_VERSION for tags in genuine)
    assert sum(tags["status"] == "ok" for tags in genuine) >= 17, genuine

    swapped = [day_one_verdict(store, "T", letter_png("O", rng), rng) for _ in range(5)]
    swapped += [day_one_verdict(store, "L", letter_png("X", rng), rng) for _ in range(5)]
    assert sum(tags["status"] == "suspicious" for tags in swapped) >= 8, swapped
    assert any("wrong-letter" in tags.get("reasons", "") for tags in swapped), swapped

    doodles = [
        day_one_verdict(store, letter, hand_drawn_png(template, rng), rng)
        for template in DOODLES.values()
        for letter in "TLOX"
    ]
    assert sum(tags["status"] == "suspicious" for tags in doodles) >= 10, doodles


def test_font_pictures_fade_out_as_a_letters_drawings_accumulate():
    shipped = _pictures()["latin"][1]
    pictures, letters = starter_fill("latin", {"A": 1, "B": TAKEOVER_DRAWINGS // 2})
    assert set(letters) == {"A", "B"}, "letters nobody drew are left to the starter classifier"
    assert letters.count("A") == math.ceil(shipped.count("A") * (1 - 1 / TAKEOVER_DRAWINGS))
    assert letters.count("B") == math.ceil(shipped.count("B") / 2) >= 10
    assert pictures.shape == (len(letters), PICTURE_SIDE, PICTURE_SIDE)
    assert starter_fill("latin", {"A": TAKEOVER_DRAWINGS})[1] == []
    assert starter_fill("no-such-alphabet", {"A": 1})[1] == []


def test_a_young_alphabet_learns_its_drawn_letters_and_leaves_the_rest_to_the_starter():
    rng = random.Random(15)
    samples = [
        extract(letter_png(letter, rng), drawing_id(rng), "latin", letter)
        for letter in "TO"
        for _ in range(20)
    ]
    model = fit_models(samples, min_drawings=20, classifier_epochs=3)
    assert model.classifiers["latin"][0].labels == ["O", "T", NOT_A_LETTER]
    assert model.classifiers["cyrillic"] == starter_model().classifiers["cyrillic"]
    rng = random.Random(16)
    verdict = score_drawing(
        letter_png("X", rng), None, model, alphabet="latin", letter="X", drawing_id="new"
    )
    assert verdict.status in ("ok", "suspicious") and verdict.letter_probability is not None


def test_font_letters_are_rendered_the_same_way_every_time():
    if not FONT.exists():
        pytest.fail("make test installs fonts-dejavu-core")
    first = font_letter_pictures([FONT], {"latin": "IJ"}, render_alpha, variants=2, seed=3)
    again = font_letter_pictures([FONT], {"latin": "IJ"}, render_alpha, variants=2, seed=3)
    assert np.array_equal(first[0], again[0]) and first[1:] == again[1:]
    assert sorted(first[2]) == ["I", "I", "J", "J"] and first[0].dtype == np.uint8
