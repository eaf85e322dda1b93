"""A refit that no single session can poison: a flood of junk from one session, or marks and
doodles sent under every letter, do not teach the letters; the screen's rules one by one."""

from __future__ import annotations

import math
import random
import uuid

from chalicelib import sanitizing
from chalicelib.keys import DrawingRef
from chalicelib.raster import render_png
from chalicelib.storage import LocalStorage
from letterstrokes import TEMPLATES, hand_drawn_strokes
from sanitizer import extract, fit_models
from sanitizer.sampling import JUNK_PER_SESSION, SESSION_CAP, Origin, screen

LETTERS = tuple(TEMPLATES)
# Refits here train shortly (the sanitizer's tests do too); the full-size figure is measured by
# benchmarks/poisoning_bench.py.
SHORT = {"classifier_epochs": 6, "classifier_rows": 20_000}


def new_id(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def line(rng: random.Random) -> list:
    """One straight stroke, across or down or slanting, of any length and place."""
    angle = math.radians(rng.choice([0, 90, 45, 135]) + rng.gauss(0, 6))
    half = rng.uniform(40, 110)
    cx, cy = rng.uniform(100, 200), rng.uniform(100, 200)
    dx, dy = half * math.cos(angle), half * math.sin(angle)
    xs = [cx - dx + 2 * dx * i / 12 + rng.gauss(0, 1.5) for i in range(13)]
    ys = [cy - dy + 2 * dy * i / 12 + rng.gauss(0, 1.5) for i in range(13)]
    return [[xs, ys, list(range(13))]]


def circle(rng: random.Random) -> list:
    rx, phase = rng.uniform(50, 110), rng.uniform(0, 2 * math.pi)
    ry = rx * rng.uniform(0.85, 1.15)
    points = [phase + 2 * math.pi * i / 30 for i in range(31)]
    xs = [150 + rx * math.cos(a) + rng.gauss(0, 2) for a in points]
    ys = [150 + ry * math.sin(a) + rng.gauss(0, 2) for a in points]
    return [[xs, ys, list(range(31))]]


def dash(rng: random.Random) -> list:
    """A 60 px dash: too long to be a tiny mark, a letter of none."""
    x, y = rng.uniform(60, 180), rng.uniform(60, 240)
    return [[[x, x + 30, x + 60], [y, y + rng.gauss(0, 1), y + rng.gauss(0, 1)], [0, 40, 80]]]


def dot(rng: random.Random) -> list:
    return [[[rng.uniform(50, 250)], [rng.uniform(50, 250)], [0]]]


def scribble(rng: random.Random) -> list:
    n = rng.randint(20, 60)
    return [
        [
            [rng.uniform(40, 260) for _ in range(n)],
            [rng.uniform(40, 260) for _ in range(n)],
            list(range(n)),
        ]
    ]


def house(rng: random.Random) -> list:
    jitter = [
        (x + rng.gauss(0, 4), y + rng.gauss(0, 4))
        for x, y in ((60, 270), (60, 135), (150, 40), (240, 135), (240, 270), (60, 270))
    ]
    door = [(126, 270), (126, 195), (174, 195), (174, 270)]
    return [
        [[x for x, _ in part], [y for _, y in part], list(range(len(part)))]
        for part in (jitter, door)
    ]


class Collection:
    """A local store filled as the site fills it: a PNG and its record per drawing, tagged on
    arrival by the model in force (the S3-event path)."""

    def __init__(self, root, seed: int) -> None:
        self.store = LocalStorage(root / "drawings")
        self.rng = random.Random(seed)

    def send(self, session: str, letter: str, strokes: list) -> DrawingRef:
        ref = DrawingRef("latin", letter, new_id(self.rng))
        self.store.put_json(
            ref.record_key,
            {"session": session, "strokes": strokes, "canvas": {"width": 300, "height": 300}},
        )
        self.store.put(ref.png_key, render_png(strokes, 300, 300), content_type="image/png")
        sanitizing.tag_drawing(self.store, ref.png_key)
        return ref

    def genuine_sessions(self, sessions: int, per_letter: int) -> None:
        for _ in range(sessions):
            session = new_id(self.rng)
            for letter in LETTERS:
                for _ in range(per_letter):
                    self.send(session, letter, hand_drawn_strokes(letter, self.rng))


def flagged_share(model, shapes, rng: random.Random, count: int) -> float:
    """The share of ``count`` new drawings of ``shapes`` claimed as random letters that ``model`` flags."""
    from sanitizer import score_drawing

    flagged = 0
    for i in range(count):
        strokes = shapes(rng)
        verdict = score_drawing(
            render_png(strokes, 300, 300),
            None,
            model,
            alphabet="latin",
            letter=LETTERS[i % len(LETTERS)],
            drawing_id=f"new-{i}",
        )
        flagged += verdict.status == "suspicious"
    return flagged / count


def test_one_session_flooding_every_letter_with_junk_does_not_teach_the_letters(tmp_path):
    collection = Collection(tmp_path, seed=25)
    collection.genuine_sessions(sessions=6, per_letter=4)
    before = sanitizing.refit(collection.store, **SHORT)
    flood = new_id(collection.rng)
    flood_refs = [
        collection.send(flood, letter, shape(collection.rng))
        for letter in LETTERS
        for shape in (line, circle)
        for _ in range(150)
    ]
    after = sanitizing.refit(collection.store, **SHORT)

    # Without the screen, the same sample teaches the flood's lines and circles as letters.
    everything = [
        extract(collection.store.get(key).data, ref.id, "latin", ref.letter)
        for key in sanitizing.drawing_keys(collection.store)
        for ref in [sanitizing.parse_drawing_key(key)]
    ]
    unscreened = fit_models(everything, **SHORT)
    figures = {}
    for name, shapes in (("lines", line), ("circles", circle)):
        figures[name] = [
            flagged_share(model, shapes, random.Random(name), 80)
            for model in (before, after, unscreened)
        ]
    print(f"new junk flagged before the flood, after it, after it unscreened: {figures}")
    assert len(flood_refs) == 300 * len(LETTERS)
    for name, (was, now, poisoned) in figures.items():
        assert now >= was - 0.05, name
        assert poisoned < was - 0.2, f"the flood poisons an unscreened refit ({name})"


def test_marks_and_doodles_under_every_letter_stay_flagged_after_the_refit(tmp_path):
    collection = Collection(tmp_path, seed=26)
    collection.genuine_sessions(sessions=12, per_letter=5)
    marks, doodles = [], []
    for letter in LETTERS:
        for shape in (dot, dash, scribble):
            marks.append(collection.send(new_id(collection.rng), letter, shape(collection.rng)))
    for letter in LETTERS[::2]:
        doodles.append(collection.send(new_id(collection.rng), letter, house(collection.rng)))
    genuine = 12 * 5 * len(LETTERS)
    assert 0.04 <= (len(marks) + len(doodles)) / (genuine + len(marks) + len(doodles)) <= 0.06
    on_arrival = {ref: collection.store.get_tags(ref.png_key)["status"] for ref in doodles}
    starter = sanitizing.model_in_force(collection.store)
    model = sanitizing.refit(collection.store, **SHORT)
    sanitizing.rescore(collection.store, resume=False)
    status = {ref: collection.store.get_tags(ref.png_key)["status"] for ref in marks + doodles}
    caught = sum(status[ref] == "suspicious" for ref in marks)
    doodles_caught = sum(status[ref] == "suspicious" for ref in doodles)
    print(f"marks flagged after the refit: {caught}/{len(marks)}; doodles {doodles_caught}/4")
    # The screen keeps the marks and doodles out of the letters' sample and the classifiers
    # learn them as not-a-letter: without that, a dash under every letter stayed "ok" for 4 of
    # the 8 letters after the refit (20 of 24 marks flagged), and the doodles 1 of 4.
    assert caught >= 0.98 * len(marks)
    assert doodles_caught >= sum(s == "suspicious" for s in on_arrival.values())
    genuine_flagged = sum(
        collection.store.get_tags(key)["status"] == "suspicious"
        for key in sanitizing.drawing_keys(collection.store)
        if key not in {ref.png_key for ref in marks + doodles}
    )
    assert genuine_flagged <= 0.05 * genuine, "learning the junk does not flag the letters"
    # New marks, never seen: what the refit learned holds beyond the drawings it learned.
    new = {
        shapes.__name__: [flagged_share(m, shapes, random.Random(7), 40) for m in (starter, model)]
        for shapes in (dash, scribble, house)
    }
    print(f"new marks flagged by the starter, then by the refit: {new}")
    assert new["scribble"][1] >= new["scribble"][0] - 0.05
    assert new["house"][1] >= new["house"][0] - 0.05
    # Measured: 67.5 % of new dashes (25 % without the junk learned; the starter, 100 %). The
    # refit flags a letter below 1 chance in 10,000, the starter below 1 in 150, and a new dash
    # gets its claimed letter 1 to 3 chances in 1,000 (docs/sanitizer.md).
    assert new["dash"][1] >= 0.5


def test_marks_and_drawings_claimed_as_many_letters_are_learned_as_junk_a_few_per_session():
    rng = random.Random(6)
    genuine = [sample(letter, rng) for letter in LETTERS for _ in range(6)]
    origins = {s.id: Origin(f"writer-{i % 24}") for i, s in enumerate(genuine)}
    marks = [sample(letter, rng, dot(rng)) for letter in LETTERS for _ in range(3)]
    origins |= {s.id: Origin("dotter", flagged=True, marked=True) for s in marks}
    circles = [sample(letter, rng, circle(rng)) for letter in LETTERS if letter != "O"]
    origins |= {s.id: Origin(f"circles-{i}") for i, s in enumerate(circles)}
    screened = screen(genuine + marks + circles, origins)
    assert not any(s in screened.kept for s in marks)
    assert screened.left["mark"] == len(marks)
    taught = {s.id for s in screened.junk}
    assert sum(s.id in taught for s in marks) == JUNK_PER_SESSION, "one session, a few"
    assert sorted(s.id for s in marks)[:JUNK_PER_SESSION] == sorted(
        s.id for s in marks if s.id in taught
    ), "its lowest ids, so every refit learns the same ones"
    left_circles = [s for s in circles if s not in screened.kept]
    assert left_circles and all(s.id in taught for s in left_circles), "one session each"
    assert not any(s.id in taught for s in genuine if s in screened.kept)
    judged = [sample("T", rng, dot(rng), verdict="ok")]
    again = screen(judged, {judged[0].id: Origin("dotter", marked=True)})
    assert again.kept == judged and again.junk == [], "the maintainer's verdict decides"


def sample(letter: str, rng: random.Random, strokes=None, verdict=None):
    png = render_png(strokes or hand_drawn_strokes(letter, rng), 300, 300)
    return extract(png, new_id(rng), "latin", letter, verdict)


def test_no_session_keeps_more_than_its_share_of_a_letter():
    rng = random.Random(3)
    keen = [sample("T", rng) for _ in range(40)]
    others = [sample("T", rng) for _ in range(60)]
    origins = {s.id: Origin("keen") for s in keen}
    origins |= {s.id: Origin(f"writer-{i % 20}") for i, s in enumerate(others)}
    kept = screen(keen + others, origins)
    assert sum(s in kept.kept for s in keen) == SESSION_CAP
    assert all(s in kept.kept for s in others), "three drawings a writer are within the share"
    assert kept.left["session-share"] == 40 - SESSION_CAP
    judged = [sample("T", rng, verdict="ok") for _ in range(10)]
    again = screen(keen + judged, origins | {s.id: Origin("keen") for s in judged})
    assert all(s in again.kept for s in judged), "the maintainer's verdicts always stay"
    unknown = screen(keen, {}), "the 2017 drawings kept no session: each is its own"
    assert len(unknown[0].kept) == 40


def test_a_mostly_flagged_session_leaves_the_sample_whole():
    rng = random.Random(4)
    drawings = [sample(letter, rng) for letter in "TLOX" for _ in range(2)]
    flagged = {s.id: Origin("vandal", flagged=i < 5) for i, s in enumerate(drawings)}
    assert screen(drawings, flagged).kept == []
    fine = {s.id: Origin("writer", flagged=i < 4) for i, s in enumerate(drawings)}
    assert len(screen(drawings, fine).kept) == len(drawings), "half flagged is not mostly"
    few = {s.id: Origin("new", flagged=True) for s in drawings[:4]}
    assert len(screen(drawings[:4], few).kept) == 4, "too few drawings to judge a session by"


def test_near_identical_drawings_claimed_as_many_letters_leave_but_the_letter_they_look_like_stays():
    rng = random.Random(5)
    genuine = [sample(letter, rng) for letter in LETTERS for _ in range(6)]
    origins = {s.id: Origin(f"writer-{i % 24}") for i, s in enumerate(genuine)}
    circles = [sample(letter, rng, circle(rng)) for letter in LETTERS for _ in range(3)]
    origins |= {s.id: Origin(f"circles-{i}") for i, s in enumerate(circles)}
    kept = screen(genuine + circles, origins)
    left = [s for s in circles if s not in kept.kept]
    sent_as_others = [s for s in circles if s.letter != "O"]
    assert sum(s in left for s in sent_as_others) >= 0.8 * len(sent_as_others)
    assert kept.left["claimed-as-many"] == len(left) + sum(s not in kept.kept for s in genuine)
    assert all(s in kept.kept for s in genuine if s.letter != "O")
    assert sum(s in kept.kept for s in genuine if s.letter == "O") >= 5, "genuine O's stay"
