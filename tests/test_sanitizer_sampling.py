"""The refit's bounded sample: at most N drawings a letter, chosen by a hash of the id from the
listing alone, plus every judged drawing; nothing else is decoded."""

from __future__ import annotations

import random

import pytest
from test_sanitizer import drawing_id, letter_png

from chalicelib import sanitizing
from chalicelib.keys import DrawingRef
from chalicelib.storage import LocalStorage
from sanitizer.sampling import bounded_sample, sample_rank


def test_the_sample_is_the_lowest_ranks_of_each_letter_whatever_the_order():
    rng = random.Random(1)
    items = [(("latin", letter), drawing_id(rng)) for letter in "ABC" for _ in range(300)]
    chosen = bounded_sample(items, per_letter=40)
    for letter in "ABC":
        ids = sorted((i for (_, other), i in items if other == letter), key=sample_rank)
        assert set(ids[:40]) <= chosen and not set(ids[40:]) & chosen
    assert len(chosen) == 120
    rng.shuffle(items)
    assert bounded_sample(items, per_letter=40) == chosen, "reproducible: order does not matter"
    few = [item for item in items if item[0][1] == "A"][:25]
    assert bounded_sample(few, per_letter=40) == {i for _, i in few}, "small letters: all"


def test_a_growing_collection_keeps_its_sample_except_where_lower_ranks_arrive():
    rng = random.Random(2)
    old = [(("latin", "A"), drawing_id(rng)) for _ in range(500)]
    new = [(("latin", "A"), drawing_id(rng)) for _ in range(500)]
    before = bounded_sample(old, per_letter=50)
    after = bounded_sample(old + new, per_letter=50)
    assert len(after) == 50
    worst_kept = max(sample_rank(i) for i in after)
    assert all(sample_rank(i) > worst_kept for i in before - after), "left only for lower ranks"
    assert 10 <= len(before & after) <= 40, "about half of the old sample stays"
    with pytest.raises(ValueError):
        bounded_sample(old, per_letter=0)


class CountingStore(LocalStorage):
    """A local store that records which drawings were read (decoded by the refit)."""

    def __init__(self, root):
        super().__init__(root)
        self.read: list[str] = []
        self.listings: list[str] = []

    def list_keys(self, prefix=""):
        self.listings.append(prefix)
        return super().list_keys(prefix)

    def get(self, key):
        if key.endswith(".png"):
            self.read.append(key)
        return super().get(key)


def test_refit_decodes_only_the_sample_and_every_judged_drawing(tmp_path, monkeypatch):
    store = CountingStore(tmp_path / "drawings")
    rng = random.Random(3)
    png = {letter: letter_png(letter, rng) for letter in "TL"}
    refs = [DrawingRef("latin", letter, drawing_id(rng)) for letter in "TL" for _ in range(60)]
    for ref in refs:
        store.put(ref.png_key, png[ref.letter], content_type="image/png")
    chosen = bounded_sample((((r.alphabet, r.letter), r.id) for r in refs), per_letter=15)
    outside = [r for r in refs if r.id not in chosen]
    sanitizing.mark(store, outside[0].id, "rejected")
    sanitizing.mark(store, outside[1].id, "ok")

    fitted = {}

    def fake_fit(samples, **options):
        fitted["samples"] = samples
        from sanitizer import ModelSet

        return ModelSet("m-test", "2026-01-01T00:00:00Z")

    monkeypatch.setattr("sanitizer.fit_models", fake_fit)
    store.read.clear()
    store.listings.clear()
    sanitizing.refit(store, per_letter=15)
    ids = {s.id for s in fitted["samples"]}
    assert ids == chosen | {outside[0].id, outside[1].id}
    verdicts = {s.id: s.verdict for s in fitted["samples"]}
    assert verdicts[outside[0].id] == "rejected" and verdicts[outside[1].id] == "ok"
    assert sorted(store.read) == sorted(r.png_key for r in refs if r.id in ids), (
        "drawings outside the sample are listed, never decoded"
    )
    drawing_listings = [
        p for p in store.listings if "drawings/".startswith(p) or p.startswith("drawings/")
    ]
    assert len(drawing_listings) == 1, f"the drawings are listed once, not {drawing_listings}"
