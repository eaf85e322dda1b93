"""The sanitizer's store jobs and commands: the event path with a record, idempotent tagging,
NaN and malformed input, and ``comnist refit | rescore | review | mark`` on a local store."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest
from test_sanitizer import SHAPES, drawing_id, letter_png, scribble_png

from chalicelib import sanitizing
from chalicelib.keys import MODELS_CURRENT_KEY, DrawingRef
from chalicelib.storage import LocalStorage, check_tags
from comnist.cli import main
from sanitizer import Sample, extract, fit_models, score_drawing
from sanitizer.features import stroke_features
from sanitizer.starter import STARTER_VERSION, starter_model


@pytest.fixture
def store(tmp_path):
    return LocalStorage(tmp_path / "data" / "drawings")


def put_drawing(store, letter, png, ident=None, record=None):
    ref = DrawingRef("latin", letter, ident or drawing_id(random.Random()))
    store.put(ref.png_key, png, content_type="image/png")
    if record is not None:
        store.put_json(ref.record_key, record)
    return ref


def fill(store, per_letter=25, seed=4):
    rng = random.Random(seed)
    return [
        put_drawing(store, letter, letter_png(letter, rng), drawing_id(rng))
        for letter in SHAPES
        for _ in range(per_letter)
    ]


def test_event_path_reads_the_record_and_tags_idempotently(store):
    """With no model in the store yet, the shipped starter letter check judges the drawing."""
    rng = random.Random(2)
    record = {
        "strokes": [[[10, 200], [10, 10], [0, 120]], [[100, 100], [10, 250], [300, 800]]],
        "canvas": {"width": 300, "height": 300},
    }
    ref = put_drawing(store, "T", letter_png("T", rng), drawing_id(rng), record)
    first = sanitizing.tag_drawing(store, ref.png_key)
    assert first["status"] == "ok" and "strokes=2" in first["features"]
    assert first["model"] == STARTER_VERSION and float(first["letter_p"]) > 0.5
    assert sanitizing.tag_drawing(store, ref.png_key) == first == store.get_tags(ref.png_key)
    check_tags(first)


def test_tagging_keeps_the_human_verdict(store):
    refs = fill(store, per_letter=22)
    sanitizing.refit(store, min_drawings=20, classifier_epochs=5)
    sanitizing.mark(store, refs[0].id, "rejected")
    tags = sanitizing.tag_drawing(store, refs[0].png_key)
    assert tags["verdict"] == "rejected" and tags["model"]
    assert store.get_tags(refs[0].png_key)["verdict"] == "rejected"


def test_a_missing_or_broken_model_falls_back_to_the_starter_letter_check(store):
    ref = fill(store, per_letter=1)[0]
    store.put_json(MODELS_CURRENT_KEY, {"version": "m-gone", "key": "models/m-gone.json"})
    assert sanitizing.load_current_model(store) is None
    store.put("models/m-bad.json", b"{not json")
    store.put_json(MODELS_CURRENT_KEY, {"version": "m-bad", "key": "models/m-bad.json"})
    tags = sanitizing.tag_drawing(store, ref.png_key)
    assert tags["model"] == STARTER_VERSION and tags["status"] in ("ok", "suspicious")
    assert sanitizing.tag_drawing(store, ref.png_key, starter_model()) == tags


@pytest.mark.parametrize(
    "record",
    [
        None,
        {"strokes": None, "canvas": None},
        {"strokes": "nonsense", "canvas": {"width": 3}},
        {"strokes": [[[1, float("nan")], [2, 3], [0, 1]]], "canvas": {"width": 9, "height": 9}},
        {"strokes": [[[1, 2]]], "canvas": {"width": 9, "height": 9}},
    ],
)
def test_malformed_records_give_no_stroke_features_and_no_error(record):
    values = stroke_features(record)
    assert all(np.isfinite(v) for v in values.values())


def test_nan_features_never_reach_a_model():
    rng = random.Random(8)
    samples = [extract(letter_png("L", rng), drawing_id(rng), "latin", "L") for _ in range(22)]
    samples += [extract(letter_png("O", rng), drawing_id(rng), "latin", "O") for _ in range(22)]
    poisoned = Sample(
        "x", "latin", "L", np.full_like(samples[0].features, np.nan), samples[0].picture
    )
    models = fit_models([*samples, poisoned], min_drawings=20, classifier_epochs=3)
    json.loads(models.to_json(), parse_constant=lambda c: pytest.fail(f"{c} in the model"))
    assert models.letters[("latin", "L")].count == 22
    verdict = score_drawing(scribble_png(rng), None, models, alphabet="latin", letter="L")
    assert verdict.status == "suspicious" and np.isfinite(verdict.score)


def test_refit_rescore_review_mark_commands_on_a_local_store(store, tmp_path, capsys):
    refs = fill(store)
    junk = put_drawing(store, "T", scribble_png(random.Random(1)), drawing_id(random.Random(1)))
    data = ["--data", str(tmp_path / "data")]
    assert main(["refit", *data, "--min-drawings", "20"]) == 0
    assert main(["rescore", *data, "--workers", "2"]) == 0
    counts = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert sum(counts.values()) == len(refs) + 1
    assert store.get_tags(junk.png_key)["status"] == "suspicious"

    out = tmp_path / "review" / "index.html"
    assert main(["review", *data, "--out", str(out)]) == 0
    page = out.read_text(encoding="utf-8")
    assert junk.id in page and "data:image/png;base64," in page

    assert main(["mark", *data, junk.id, "rejected"]) == 0
    assert store.get_tags(junk.png_key)["verdict"] == "rejected"
    assert main(["review", *data, "--out", str(out)]) == 0
    assert junk.id not in out.read_text(encoding="utf-8"), "reviewed drawings leave the sheet"
    with pytest.raises(SystemExit):
        main(["mark", *data, "no-such-drawing", "ok"])
