"""The refit's bounded sample: at most N drawings a letter, the first after the collection's
start in id order, plus every judged drawing; only about N keys a letter are listed and nothing
else is decoded."""

from __future__ import annotations

import random
import threading
import uuid

import pytest
from test_sanitizer import drawing_id, letter_png

from chalicelib import sanitizing
from chalicelib.keys import DrawingRef
from chalicelib.storage import LocalStorage
from sanitizer.sampling import bounded_sample, sample_rank

START = "9b7c1c52-5f0e-4d6a-8a43-2f1e0c9d7b10"


def rank(drawing):
    return sample_rank(drawing, START)


def test_the_sample_is_the_lowest_ranks_of_each_letter_whatever_the_order():
    rng = random.Random(1)
    items = [(("latin", letter), drawing_id(rng)) for letter in "ABC" for _ in range(300)]
    chosen = bounded_sample(items, START, per_letter=40)
    for letter in "ABC":
        ids = sorted((i for (_, other), i in items if other == letter), key=rank)
        assert set(ids[:40]) <= chosen and not set(ids[40:]) & chosen
    assert len(chosen) == 120
    rng.shuffle(items)
    assert bounded_sample(items, START, per_letter=40) == chosen, "order does not matter"
    few = [item for item in items if item[0][1] == "A"][:25]
    assert bounded_sample(few, START, per_letter=40) == {i for _, i in few}, "small letters: all"
    other_start = bounded_sample(items, str(uuid.UUID(int=uuid.UUID(START).int ^ 1 << 127)), 40)
    assert len(other_start & chosen) < 20, "another collection's start gives another sample"


def test_ranks_follow_the_start_round_the_circle_of_ids():
    just_after = str(uuid.UUID(int=uuid.UUID(START).int + 1))
    just_before = str(uuid.UUID(int=uuid.UUID(START).int - 1))
    lowest, highest = str(uuid.UUID(int=0)), str(uuid.UUID(int=(1 << 128) - 1))
    order = [just_after, highest, lowest, just_before, START]
    assert sorted(order, key=rank) == order


def test_a_growing_collection_keeps_its_sample_except_where_lower_ranks_arrive():
    rng = random.Random(2)
    old = [(("latin", "A"), drawing_id(rng)) for _ in range(500)]
    new = [(("latin", "A"), drawing_id(rng)) for _ in range(500)]
    before = bounded_sample(old, START, per_letter=50)
    after = bounded_sample(old + new, START, per_letter=50)
    assert len(after) == 50
    worst_kept = max(rank(i) for i in after)
    assert all(rank(i) > worst_kept for i in before - after), "left only for lower ranks"
    assert 10 <= len(before & after) <= 40, "about half of the old sample stays"
    with pytest.raises(ValueError):
        bounded_sample(old, START, per_letter=0)


class CountingStore(LocalStorage):
    """A local store that counts the drawing keys it lists and records the drawings it reads."""

    def __init__(self, root):
        super().__init__(root)
        self.read: list[str] = []
        self.listed: dict[str, int] = {}

    def list_keys(self, prefix="", start_after=""):
        for key in super().list_keys(prefix, start_after):
            if key.startswith("drawings/"):
                folder = key.rpartition("/")[0]
                self.listed[folder] = self.listed.get(folder, 0) + 1
            yield key

    def get(self, key):
        if key.endswith(".png"):
            self.read.append(key)
        return super().get(key)


def put_drawings(store, refs, rng):
    png = {letter: letter_png(letter, rng) for letter in {r.letter for r in refs}}
    for ref in refs:
        store.put(ref.png_key, png[ref.letter], content_type="image/png")


def test_refit_lists_about_n_keys_a_letter_and_decodes_only_the_sample_and_judged(
    tmp_path, monkeypatch
):
    store = CountingStore(tmp_path / "drawings")
    rng = random.Random(3)
    refs = [DrawingRef("latin", letter, drawing_id(rng)) for letter in "TL" for _ in range(60)]
    refs += [DrawingRef("latin", "O", drawing_id(rng)) for _ in range(5)]
    put_drawings(store, refs, rng)
    start = sanitizing.sample_start(store)
    chosen = bounded_sample((((r.alphabet, r.letter), r.id) for r in refs), start, per_letter=15)
    assert len(chosen) == 15 + 15 + 5
    outside = [r for r in refs if r.id not in chosen]
    sanitizing.mark(store, outside[0].id, "rejected")
    sanitizing.mark(store, outside[1].id, "ok")

    fitted = {}

    def fake_fit(samples, **options):
        fitted["samples"] = samples
        from sanitizer import ModelSet

        return ModelSet("m-test", "2026-01-01T00:00:00Z")

    monkeypatch.setattr("sanitizer.fit_models", fake_fit)

    def refit():
        store.read.clear()
        store.listed.clear()
        sanitizing.refit(store, per_letter=15)
        return {s.id for s in fitted["samples"]}

    ids = refit()
    assert ids == chosen | {outside[0].id, outside[1].id}
    verdicts = {s.id: s.verdict for s in fitted["samples"]}
    assert verdicts[outside[0].id] == "rejected" and verdicts[outside[1].id] == "ok"
    assert sorted(store.read) == sorted(r.png_key for r in refs if r.id in ids), (
        "drawings outside the sample are never decoded"
    )
    t_folder = refs[0].png_key.rpartition("/")[0]
    assert store.listed[t_folder] <= 16, "a letter's listing stops after its sample"
    assert refit() == ids, "the same collection gives the same sample"

    more = [DrawingRef("latin", "T", drawing_id(rng)) for _ in range(600)]
    put_drawings(store, more, rng)
    grown = refit()
    assert store.listed[t_folder] <= 16, "ten times the drawings, the same listing"
    t_sample = {r.id for r in refs + more if r.letter == "T"} & grown - {r.id for r in outside[:2]}
    assert len(t_sample) == 15
    expected = bounded_sample((("T", r.id) for r in refs + more if r.letter == "T"), start, 15)
    assert t_sample == expected


def test_two_refits_starting_at_once_share_one_sample_start(tmp_path):
    store = LocalStorage(tmp_path / "drawings")
    barrier = threading.Barrier(8)
    starts = []

    def first_refit():
        barrier.wait()
        starts.append(sanitizing.sample_start(store))

    threads = [threading.Thread(target=first_refit) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(starts) == 8 and len(set(starts)) == 1
    assert sanitizing.sample_start(store) == starts[0]
    assert uuid.UUID(starts[0]).version == 4
