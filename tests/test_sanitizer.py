"""The sanitizer on synthetic letters: features, models, the wrong-letter check, bad input and store jobs."""

from __future__ import annotations

import io
import json
import math
import random
import uuid

import moto  # noqa: F401  (moto before boto3)
import numpy as np
import pytest
from PIL import Image, ImageFont

from chalicelib import sanitizing
from chalicelib.keys import MODELS_CURRENT_KEY, DrawingRef
from chalicelib.raster import render_png
from chalicelib.storage import LocalStorage, S3Storage
from comnist.sanitizing_cli import review_page
from letterstrokes import TEMPLATES
from sanitizer import ModelSet, extract, fit_models, score_drawing, starter_model
from sanitizer.augment import VIEWS, affine_matrix, distort, elastic_warp, views
from sanitizer.features import (
    PICTURE_SIDE,
    count_components,
    letter_picture,
    picture_descriptors,
)
from sanitizer.image import decode_ink
from sanitizer.model import LETTER_SURPRISE, fold_of
from sanitizer.nonletters import (
    NOT_A_LETTER,
    RENDER_SIZE,
    build,
    choose_nonletters,
    hand_drawn_nonletters,
    nonletter_pictures,
    render_symbols,
    tuning_category,
)

SHAPES = {letter: TEMPLATES[letter] for letter in "TLOX"}


def letter_png(letter: str, rng: random.Random) -> bytes:
    """A hand-drawn-looking capital: the template with jitter, scale and shift."""
    return hand_drawn_png(SHAPES[letter], rng)


def hand_drawn_png(template: list[list[tuple[float, float]]], rng: random.Random) -> bytes:
    """Strokes in a 100-unit frame drawn on a 300-pixel canvas with jitter, scale and shift."""
    scale = rng.uniform(2.2, 2.9)
    dx, dy = rng.uniform(0, 40), rng.uniform(0, 40)
    strokes = []
    for stroke in template:
        xs = [x * scale + dx + rng.gauss(0, 2) for x, _ in stroke]
        ys = [y * scale + dy + rng.gauss(0, 2) for _, y in stroke]
        strokes.append([xs, ys, list(range(len(xs)))])
    return render_png(strokes, 300, 300)


def scribble_png(rng: random.Random) -> bytes:
    n = 50
    return render_png(
        [
            [
                [rng.uniform(20, 280) for _ in range(n)],
                [rng.uniform(20, 280) for _ in range(n)],
                list(range(n)),
            ]
        ],
        300,
        300,
    )


def blank_png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGBA", (278, 278)).save(buffer, "PNG")
    return buffer.getvalue()


def drawing_id(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


@pytest.fixture(scope="module")
def collection():
    rng = random.Random(7)
    return [
        (drawing_id(rng), letter, letter_png(letter, rng)) for letter in SHAPES for _ in range(40)
    ]


@pytest.fixture(scope="module")
def models(collection):
    samples = [extract(png, i, "latin", letter) for i, letter, png in collection]
    return fit_models(samples, min_drawings=20, classifier_epochs=25)


def score(png, models, letter, drawing="00000000-0000-4000-8000-000000000000"):
    return score_drawing(png, None, models, alphabet="latin", letter=letter, drawing_id=drawing)


def test_genuine_letters_pass_and_junk_is_flagged(models):
    rng = random.Random(99)
    genuine = [
        score(letter_png(letter, rng), models, letter, drawing_id(rng))
        for letter in SHAPES
        for _ in range(10)
    ]
    assert sum(v.status == "ok" for v in genuine) >= 34, [
        v.reasons for v in genuine if v.status != "ok"
    ]
    scribbles = [score(scribble_png(rng), models, "T") for _ in range(10)]
    assert sum(v.status == "suspicious" for v in scribbles) >= 9
    blank = score(blank_png(), models, "L")
    assert (blank.status, blank.reasons) == ("suspicious", ["blank"])


def test_a_clean_drawing_of_the_wrong_letter_is_caught(models):
    rng = random.Random(5)
    verdicts = [score(letter_png("O", rng), models, "T", drawing_id(rng)) for _ in range(10)]
    flagged = [v for v in verdicts if any(r.startswith("wrong-letter:U+004F") for r in v.reasons)]
    assert len(flagged) >= 8


# Line drawings of things, in the 100-unit frame of SHAPES: none of them is a letter, and none
# encloses enough regions to be caught as a mark.
DOODLES = {
    "arrow": [[(10, 50), (90, 50)], [(65, 25), (90, 50), (65, 75)]],
    "house": [
        [(20, 90), (20, 45), (50, 12), (80, 45), (80, 90), (20, 90)],
        [(42, 90), (42, 65), (58, 65), (58, 90)],
    ],
    "umbrella": [
        [
            (50 + 42 * math.cos(a / 10 * math.pi), 45 - 35 * math.sin(a / 10 * math.pi))
            for a in range(11)
        ]
        + [(8, 45), (92, 45)],
        [(50, 45), (50, 85), (40, 90), (33, 82)],
    ],
    "heart": [
        [(50, 90), (15, 50), (15, 28), (30, 15), (50, 28), (70, 15), (85, 28), (85, 50), (50, 90)]
    ],
}


def test_doodles_are_caught_by_the_not_a_letter_class_they_would_pass_without(
    collection, models, monkeypatch
):
    def doodle_verdicts(model):
        rng = random.Random(8)
        return [
            score(hand_drawn_png(template, rng), model, letter, drawing_id(rng))
            for template in DOODLES.values()
            for letter in SHAPES
            for _ in range(3)
        ]

    assert models.classifiers["latin"][0].labels[-1] == NOT_A_LETTER
    caught = doodle_verdicts(models)
    assert sum(v.reasons == ["not-a-letter"] for v in caught) >= 0.8 * len(caught)

    monkeypatch.setattr("sanitizer.model.nonletter_pictures", lambda: nonletter_pictures()[:0])
    samples = [extract(png, i, "latin", letter) for i, letter, png in collection]
    letters_only = fit_models(samples, min_drawings=20, classifier_epochs=25)
    assert NOT_A_LETTER not in letters_only.classifiers["latin"][0].labels
    missed = doodle_verdicts(letters_only)
    assert sum(v.status == "suspicious" for v in missed) <= 0.3 * len(missed)


def test_nonletter_pictures_ship_as_letter_pictures_and_fonts_give_only_glyphs_they_have(tmp_path):
    shipped = nonletter_pictures()
    assert shipped.dtype == np.uint8 and shipped.shape[1:] == (PICTURE_SIDE, PICTURE_SIDE)
    assert len(shipped) > 1000 and not shipped.flags.writeable
    hand_drawn = hand_drawn_nonletters()
    assert hand_drawn.shape == (len(shipped),) and not hand_drawn.flags.writeable
    assert 1000 < hand_drawn.sum() < len(shipped), "both doodles and font symbols ship"
    font = ImageFont.load_default(size=RENDER_SIZE)
    rendered = render_symbols(font, ["#", "\ue000", "?"])  # a private-use character: no glyph
    assert rendered.shape == (2, PICTURE_SIDE, PICTURE_SIDE) and rendered.dtype == np.uint8
    assert not np.array_equal(rendered[0], rendered[1])
    assert len(nonletter_pictures(tmp_path / "absent.npz")) == 0
    np.savez(tmp_path / "floats.npz", pictures=np.zeros((3, PICTURE_SIDE, PICTURE_SIDE)))
    with pytest.raises(ValueError, match="uint8"):
        nonletter_pictures(tmp_path / "floats.npz")


def test_only_doodles_of_the_teaching_categories_become_not_a_letter_pictures(tmp_path):
    from chalicelib.raster import render_alpha
    from comnist.evaluation import judged_category

    names = ["house", "fork", "cloud", "spider", "sun", "key", "eye", "ladder"]
    taught = [name for name in names if tuning_category(name)]
    judged = [name for name in names if judged_category(name)]
    assert taught and judged and not set(taught) & set(judged), "the two halves never meet"
    house = [[[20, 20, 50, 80, 80, 20], [90, 45, 12, 45, 90, 90], [0, 1, 2, 3, 4, 5]]]
    # Quick, Draw!'s own files name the category "word"; the shared sample's "label".
    lines = [json.dumps({"word": name, "strokes": house}) for name in names]
    lines += [json.dumps({"label": name, "strokes": house}) for name in names]
    lines += ["", json.dumps({"word": taught[0], "strokes": []})]
    doodles = tmp_path / "doodles.ndjson"
    doodles.write_text("\n".join(lines))
    out = tmp_path / "nonletters.npz"
    assert build([], out, doodles=doodles, rasterize=render_alpha) == 2 * len(taught)
    pictures = nonletter_pictures(out)
    assert pictures.shape == (2 * len(taught), PICTURE_SIDE, PICTURE_SIDE)
    assert hand_drawn_nonletters(out).all()
    assert (pictures > 127).mean() > 0.02, "the doodle is drawn with the collector's pen"
    with pytest.raises(ValueError, match="rasterize"):
        build([], out, doodles=doodles)


def test_each_classifier_learns_from_every_doodle_before_any_font_symbol():
    hand_drawn = np.array([False] * 10 + [True] * 5)
    for count, hands, fonts in ((3, 3, 0), (8, 5, 3), (15, 5, 10), (40, 5, 10)):
        chosen = choose_nonletters(hand_drawn, count, np.random.default_rng(count))
        assert list(chosen) == sorted(set(chosen.tolist())), "distinct, in order"
        assert hand_drawn[chosen].sum() == hands and (~hand_drawn[chosen]).sum() == fonts
    again = [choose_nonletters(hand_drawn, 8, np.random.default_rng(1)) for _ in range(2)]
    assert np.array_equal(*again), "the same seed chooses the same pictures"
    fonts_only = choose_nonletters(np.zeros(6, dtype=bool), 4, np.random.default_rng(0))
    assert len(fonts_only) == 4


def test_rebuilding_the_not_a_letter_pictures_without_the_doodles_file_is_a_clear_error(
    tmp_path, capsys
):
    from comnist.cli import main

    out = tmp_path / "nonletters.npz"
    command = ["nonletters", "Font.ttf", "--quickdraw", str(tmp_path / "none.ndjson")]
    assert main([*command, "--out", str(out)]) == 2
    assert "no Quick, Draw! file" in capsys.readouterr().err and not out.exists()


def flood_count(mask: np.ndarray) -> int:
    """8-connected components by flood fill: the slow, obvious reference."""
    seen = np.zeros_like(mask)
    count = 0
    for y, x in zip(*np.nonzero(mask), strict=True):
        if seen[y, x]:
            continue
        count += 1
        stack = [(y, x)]
        seen[y, x] = True
        while stack:
            a, b = stack.pop()
            for c in range(max(a - 1, 0), min(a + 2, mask.shape[0])):
                for d in range(max(b - 1, 0), min(b + 2, mask.shape[1])):
                    if mask[c, d] and not seen[c, d]:
                        seen[c, d] = True
                        stack.append((c, d))
    return count


def test_component_count_matches_a_flood_fill():
    rng = np.random.default_rng(0)
    for _ in range(500):
        shape = tuple(rng.integers(1, 16, size=2))
        mask = rng.random(shape) < rng.uniform(0.1, 0.7)
        assert count_components(mask) == flood_count(mask), mask.astype(int)
    spiral = np.zeros((35, 35), dtype=bool)
    for ring in range(0, 17, 2):
        spiral[ring, ring : 35 - ring] = spiral[34 - ring, ring : 35 - ring] = True
        spiral[ring : 35 - ring, ring] = spiral[ring : 35 - ring, 34 - ring] = True
    assert count_components(spiral) == flood_count(spiral) == 9


def window_png() -> bytes:
    """A doodle of a window with nine panes: a grid of four lines each way."""
    lines = [[[40 + 70 * i, 40 + 70 * i], [40, 250], [0, 1]] for i in range(4)]
    lines += [[[40, 250], [40 + 70 * i, 40 + 70 * i], [0, 1]] for i in range(4)]
    return render_png(lines, 300, 300)


def test_a_doodle_enclosing_many_regions_is_flagged_with_or_without_a_model(models):
    for model in (None, models):
        verdict = score(window_png(), model, "O")
        assert verdict.status == "suspicious" and "many-holes" in verdict.reasons
    rng = random.Random(6)
    for letter in ("O", "T"):
        assert "many-holes" not in score(letter_png(letter, rng), models, letter).reasons


def test_distorted_copies_stay_whole_and_the_identity_changes_nothing():
    rng = random.Random(4)
    picture = letter_picture(decode_ink(letter_png("L", rng)))
    same = distort(picture, np.eye(2))
    assert np.allclose(picture_descriptors(same), picture_descriptors(picture), atol=1e-3)
    seen = views(picture)
    assert len(seen) == VIEWS + 1 and np.array_equal(seen[0], same)
    assert np.array_equal(seen, views(picture)), "a drawing scored again is seen the same way"
    generator = np.random.default_rng(0)
    for _ in range(20):
        copy = distort(picture, affine_matrix(generator))
        edge = np.concatenate([copy[0], copy[-1], copy[:, 0], copy[:, -1]])
        assert edge.max() == 0, "a distorted letter is never cut at the canvas edge"
        assert 0.6 < copy.sum() / picture.sum() < 1.6


def test_elastic_warps_bend_a_letter_a_little_smoothly_and_the_same_way_for_a_seed():
    rng = random.Random(5)
    canvases = np.stack(
        [distort(letter_picture(decode_ink(letter_png(c, rng))), np.eye(2)) for c in "TLOX"]
    )
    assert np.array_equal(elastic_warp(canvases, np.random.default_rng(0), shift=0.0), canvases)
    warped = elastic_warp(canvases, np.random.default_rng(1), shift=2.5)
    again = elastic_warp(canvases, np.random.default_rng(1), shift=2.5)
    assert np.array_equal(warped, again) and not np.array_equal(warped, canvases)
    for before, after in zip(canvases, warped, strict=True):
        assert 0.85 < after.sum() / before.sum() < 1.15, "ink is moved, not made or lost"
        overlap = np.minimum(before, after).sum() / before.sum()
        assert 0.3 < overlap < 0.98, "bent, not replaced by another shape"


def test_unseen_drawings_are_judged_by_every_fold_trained_ones_by_the_one_without_them(
    collection, models
):
    trained_id, letter, png = collection[0]
    descriptor = picture_descriptors(letter_picture(decode_ink(png)))
    folds = models.classifiers["latin"]
    assert models.was_trained_on(trained_id) and not models.was_trained_on("never-seen")
    _, own = models.letter_probabilities("latin", trained_id, descriptor)
    assert np.allclose(own, folds[fold_of(trained_id)].probabilities(descriptor), atol=1e-6)
    _, ensemble = models.letter_probabilities("latin", "never-seen", descriptor)
    geometric = np.exp(np.mean([np.log(f.probabilities(descriptor)) for f in folds], axis=0))
    assert np.allclose(ensemble, geometric / geometric.sum(), atol=1e-6)
    again = ModelSet.from_json(models.to_json())
    assert again.was_trained_on(trained_id) and not again.was_trained_on("never-seen")
    assert len(again.members) == len(collection)


def test_letter_threshold_is_chosen_by_f1_once_the_maintainer_has_judged_enough(collection):
    rng = random.Random(12)
    samples = [extract(png, i, "latin", letter) for i, letter, png in collection]
    assert fit_models(samples, classifier_epochs=5).letter_thresholds["latin"] == LETTER_SURPRISE
    for sample in samples[:12]:
        sample.verdict = "ok"
    wrong = [extract(letter_png("O", rng), drawing_id(rng), "latin", "T") for _ in range(12)]
    for sample in wrong:
        sample.verdict = "rejected"
    judged = fit_models(samples + wrong, classifier_epochs=5)
    threshold = judged.letter_thresholds["latin"]
    assert np.isfinite(threshold) and threshold != LETTER_SURPRISE
    assert not any(judged.was_trained_on(s.id) for s in wrong), "rejected drawings never train"


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty"),
        (b"GIF89a not a png", "not-png"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "corrupt-png"),
    ],
)
def test_bad_objects_are_invalid_not_exceptions(models, data, reason):
    verdict = score(data, models, "T")
    assert verdict.status == "invalid" and verdict.reasons == [reason]
    assert verdict.to_tags()["status"] == "invalid"


def test_decompression_bomb_is_refused_before_decoding(models):
    buffer = io.BytesIO()
    Image.new("L", (20000, 20000)).save(buffer, "PNG")  # 400 Mpx, a few hundred KB compressed
    verdict = score(buffer.getvalue(), models, "T")
    assert verdict.status == "invalid" and verdict.reasons[0] in ("bad-size", "decompression-bomb")


def test_without_model_or_enough_drawings_a_letter_is_left_to_the_starter_letter_check(
    collection,
):
    rng = random.Random(3)
    verdict = score_drawing(letter_png("T", rng), None, None, alphabet="latin", letter="T")
    assert verdict.status == "unscored" and "ink" in verdict.features
    one = fit_models([extract(collection[0][2], collection[0][0], "latin", "T")], min_drawings=20)
    assert one.letters == {}
    assert one.classifiers["latin"] == starter_model().classifiers["latin"]
    judged = score(letter_png("T", rng), one, "T")
    assert judged.status == "ok" and judged.letter_probability > 0.5
    assert score(letter_png("O", rng), one, "T").status == "suspicious"


def test_zero_variance_features_and_json_round_trip_have_no_nan():
    rng = random.Random(11)
    png = letter_png("L", rng)
    samples = [extract(png, drawing_id(rng), "latin", "L") for _ in range(25)]
    samples += [extract(letter_png("T", rng), drawing_id(rng), "latin", "T") for _ in range(25)]
    models = fit_models(samples, min_drawings=20, classifier_epochs=5)
    text = models.to_json()
    json.loads(text, parse_constant=lambda c: pytest.fail(f"{c} in the model"))
    again = ModelSet.from_json(text)
    verdict = score_drawing(
        png, None, again, alphabet="latin", letter="L", drawing_id=samples[0].id
    )
    assert verdict.status in ("ok", "suspicious") and np.isfinite(verdict.score)
    assert all("nan" not in value.lower() for value in verdict.to_tags().values())


def test_tags_respect_s3_limits(models):
    from chalicelib.storage import check_tags

    verdict = score(scribble_png(random.Random(1)), models, "X")
    check_tags({**verdict.to_tags(), "verdict": "rejected"})


def fill_store(store, collection, junk: int = 2):
    rng = random.Random(21)
    keys = []
    for i, letter, png in collection:
        ref = DrawingRef("latin", letter, i)
        store.put(ref.png_key, png, content_type="image/png")
        keys.append(ref.png_key)
    for _ in range(junk):
        ref = DrawingRef("latin", "T", drawing_id(rng))
        store.put(ref.png_key, scribble_png(rng), content_type="image/png")
        keys.append(ref.png_key)
    return keys


@pytest.fixture(params=["local", "s3"])
def store(request, tmp_path):
    if request.param == "local":
        return LocalStorage(tmp_path / "drawings")
    client = request.getfixturevalue("aws")
    client.create_bucket(Bucket="drawings")
    return S3Storage("drawings", client)


def test_refit_rescore_mark_and_review_on_a_store(store, collection):
    keys = fill_store(store, collection)
    assert sanitizing.tag_drawing(store, keys[0])["model"] == starter_model().version
    model = sanitizing.refit(store, min_drawings=20, classifier_epochs=15, contamination=0.05)
    assert store.get_json(MODELS_CURRENT_KEY)["version"] == model.version
    counts = sanitizing.rescore(store, workers=2)
    assert sum(counts.values()) == len(keys)
    tags = {key: store.get_tags(key) for key in keys}
    assert all(t["model"] == model.version for t in tags.values())
    junk = keys[-2:]
    assert all(tags[k]["status"] == "suspicious" for k in junk), [tags[k] for k in junk]

    # The maintainer overrules one junk drawing; rescoring never undoes it.
    junk_id = junk[0].rsplit("/", 1)[1][:-4]
    sanitizing.mark(store, junk_id, "ok")
    assert sanitizing.rescore(store, workers=2) == {}, "resumable: nothing left to do"
    sanitizing.rescore(store, workers=2, resume=False)
    assert store.get_tags(junk[0])["verdict"] == "ok"

    from comnist.inventory import iter_drawings

    flagged = [
        row for row in iter_drawings(store) if row["status"] == "suspicious" and not row["verdict"]
    ]
    page = review_page(store, flagged)
    assert page.count("<figure>") == len(flagged) and "data:image/png;base64," in page


def test_mark_csv_records_verdicts(tmp_path, collection):
    store = LocalStorage(tmp_path / "drawings")
    keys = fill_store(store, collection[:4], junk=0)
    ids = [key.rsplit("/", 1)[1][:-4] for key in keys]
    csv_path = tmp_path / "verdicts.csv"
    csv_path.write_text(
        f"id,verdict\n{ids[0]},rejected\n{ids[1]},ok\nnot-an-id,ok\n{ids[2]},maybe\n"
    )
    assert sanitizing.mark_csv(store, csv_path) == {"marked": 2, "unknown": 1, "invalid": 1}
    assert store.get_tags(keys[0])["verdict"] == "rejected"


def test_evaluate_scores_every_drawing_once_by_writer_folds(tmp_path, capsys):
    from comnist.evaluation import evaluate, load_doodles, print_table

    rng = random.Random(31)
    root = tmp_path / "samples"
    start = 0x5A000000
    for writer in range(30):
        for n, letter in enumerate(SHAPES):
            folder = root / "comnist-sample" / "cyrillic" / letter
            folder.mkdir(parents=True, exist_ok=True)
            name = f"{start + writer * 600 + n * 5:08x}{rng.getrandbits(20):05x}"
            (folder / f"{name}.png").write_bytes(letter_png(letter, rng))
    doodles = root / "quickdraw-sample" / "doodles.ndjson"
    doodles.parent.mkdir(parents=True)
    window = [[[0, 0], [0, 99], [0, 1]], [[0, 99], [99, 99], [0, 1]], [[99, 99], [99, 0], [0, 1]]]
    # Doodles of "cat" may judge the detector; "house" is a category kept for tuning.
    rows = [{"label": "cat", "strokes": window}, {"label": "house", "strokes": window[:1]}]
    doodles.write_text("".join(json.dumps(row) + "\n" for row in rows))
    assert load_doodles(doodles) == [window], "only judged categories are drawn"

    results = evaluate(root, out_dir=tmp_path / "out", seed=1)
    assert results["folds"] == 5
    assert results["test"] == 120 + results["junk_in_test"] and results["junk_in_test"] >= 4
    rows = (tmp_path / "out" / "verdicts.csv").read_text(encoding="utf-8").splitlines()
    ids = [row.split(",")[0] for row in rows[1:]]
    assert len(ids) == len(set(ids)) == results["test"], "every drawing scored exactly once"
    assert results["new"]["mark"]["recall"] == 1.0
    with np.load(tmp_path / "out" / "probabilities.npz") as saved:
        assert saved["id"].tolist() == ids, "one row of class probabilities a drawing, same order"
        scored = ~np.isnan(saved["probabilities"]).all(axis=1)
        assert scored.sum() >= 120, "every genuine drawing has its letter check's probabilities"
        assert np.allclose(saved["probabilities"][scored].sum(axis=1), 1.0)
        assert NOT_A_LETTER in saved["labels"].tolist()
    for name in ("ng_baseline", "starter", "new"):
        assert set(results[name]) >= {"overall", "doodle", "mark", "wrong-letter"}
    pool = results["pool"]
    assert pool["wrong-letter"]["trials"] == 120, "every genuine drawing claimed as another letter"
    assert pool["doodle"]["trials"] == 1, "every judged doodle once"
    for kind in ("doodle", "wrong-letter"):
        low, high = pool[kind]["interval"]
        assert low <= pool[kind]["recall"] <= high
    table = capsys.readouterr().out
    assert "ng_baseline" in table and "starter" in table and "new" in table
    assert "pool of every genuine drawing, claimed as another letter" in table
    assert "fitted on" not in table and results["train_fraction"] == 1.0
    print_table({**results, "train_fraction": 0.5})
    assert "; fitted on 50 % of each fold's training drawings" in capsys.readouterr().out


def test_pool_trials_claim_every_doodle_once_and_every_drawing_as_another_letter():
    from comnist.evaluation import Item, pool_trials

    folds = [
        [Item(f"w{k}-{letter}", letter, b"png", "genuine") for letter in "АБВ"]
        + [Item(f"junk-{k}", "А", b"png", "doodle")]
        for k in range(3)
    ]
    doodles = [[[[0, 10 * i], [0, 10], [0, 1]]] for i in range(1, 8)]
    trials = pool_trials(folds, doodles, seed=4)
    assert trials == pool_trials(folds, doodles, seed=4), "reproducible for a seed"
    assert [sum(t.kind == "doodle" for t in fold) for fold in trials] == [3, 2, 2]
    wrong = [t for fold in trials for t in fold if t.kind == "wrong-letter"]
    assert len(wrong) == 9, "the injected junk is not claimed again"
    assert all(t.letter != t.id.rsplit("-", 1)[1] for t in wrong), "always another letter"
    ids = [t.id for fold in trials for t in fold]
    assert len(set(ids)) == len(ids) and not {t.id for fold in folds for t in fold} & set(ids)


def test_pool_figures_put_the_pools_recalls_into_the_mix():
    from comnist.evaluation import pool_figures

    kinds = ["doodle"] * 10 + ["wrong-letter"] * 20
    flagged = [True] * 9 + [False] + [True] * 18 + [False] * 2
    figures = pool_figures(
        kinds,
        flagged,
        {"doodle": 4, "mark": 4, "wrong-letter": 5},
        {"doodle": 2, "mark": 4, "wrong-letter": 3},
        1,
    )
    assert figures["doodle"]["caught"] == 9 and figures["wrong-letter"]["trials"] == 20
    assert figures["wrong_letter_row_precision"] == pytest.approx(4.5 / 5.5)
    caught = 0.9 * 4 + 4 + 0.9 * 5
    assert figures["overall"]["precision"] == pytest.approx(caught / (caught + 1))
    assert figures["overall"]["recall"] == pytest.approx(caught / 13)


def test_wilson_interval_matches_the_textbook_values():
    from comnist.evaluation import wilson_interval

    assert wilson_interval(8, 10) == pytest.approx((0.490, 0.943), abs=1e-3)
    assert wilson_interval(0, 10) == pytest.approx((0.0, 0.278), abs=1e-3)
    assert wilson_interval(0, 0) == (0.0, 1.0)


def test_a_training_share_is_reproducible_nested_and_refuses_a_bad_fraction(capsys):
    from comnist.cli import main
    from comnist.evaluation import Item, training_share

    rng = random.Random(3)
    samples = [Item(drawing_id(rng), "А", b"", "genuine") for _ in range(2000)]
    half, quarter = training_share(samples, 0.5), training_share(samples, 0.25)
    assert 900 < len(half) < 1100 and 400 < len(quarter) < 600
    assert {s.id for s in quarter} <= {s.id for s in half}
    assert [s.id for s in training_share(list(reversed(samples)), 0.5)] == [
        s.id for s in reversed(half)
    ]
    assert training_share(samples, 1.0) == samples
    with pytest.raises(ValueError, match=r"\(0, 1\]"):
        training_share(samples, 0.0)
    with pytest.raises(SystemExit):
        main(["evaluate", "--train-fraction", "1.5"])
    assert "a share in (0, 1] is needed, not '1.5'" in capsys.readouterr().err
