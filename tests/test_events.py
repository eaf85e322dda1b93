"""The S3-event path: one handler for cloud and local runs, harmless on redelivery and bad objects."""

from __future__ import annotations

import pytest

from chalicelib.keys import DrawingRef
from chalicelib.stats import public_stats
from comnist.local import LambdaContext, s3_object_created_event
from factories import SCHEDULED_EVENT, drawing_body, goal_count, letter_count, post_json


def deliver(app_module, key: str, size: int = 1) -> dict:
    event = s3_object_created_event("comnist-local-drawings", key, size, '"etag"')
    return app_module.on_new_drawing(event, LambdaContext())


def test_new_drawing_is_tagged_and_counted_once(client, app_module, stores):
    drawings, _ = stores
    body = drawing_body(letter="Д")
    post_json(client, "/drawings", body)
    key = DrawingRef("cyrillic", "Д", body["id"]).png_key

    first = deliver(app_module, key)
    assert first["status"] in ("unscored", "ok", "suspicious")
    tags = drawings.get_tags(key)
    assert tags["status"] == first["status"] and tags["features"]

    second = deliver(app_module, key)  # S3 delivers at least once
    assert second["status"] == first["status"]
    assert letter_count(drawings, "cyrillic", "Д") == 1
    stats = client.http.get("/stats").json_body
    # The goal counts it once, if the sanitizer did not flag it.
    assert stats["alphabets"]["cyrillic"]["letters"]["Д"] == goal_count(tags)
    assert stats["alphabets"]["cyrillic"]["total"] == goal_count(tags)


def test_missing_object_and_foreign_keys_do_not_crash(app_module, stores):
    drawings, _ = stores
    missing = DrawingRef("cyrillic", "Ж", "6f1c3a52-0d1e-4c39-9d7e-2f8b1c0a9e11").png_key
    assert deliver(app_module, missing)["status"] == "invalid"
    assert deliver(app_module, "drawings/../../etc/passwd.png")["status"] == "ignored"
    assert deliver(app_module, "stats/counts.json")["status"] == "ignored"
    assert list(drawings.list_keys()) == []


def test_corrupt_png_is_tagged_invalid(app_module, stores):
    drawings, _ = stores
    key = DrawingRef("latin", "Q", "0b7c2a1e-5d4f-4e3a-8b9c-1d2e3f4a5b6c").png_key
    drawings.put(key, b"\x89PNG\r\n\x1a\nnot really a png", content_type="image/png")
    result = deliver(app_module, key)
    assert result["status"] == "invalid"
    assert drawings.get_tags(key)["status"] == "invalid"


def test_scheduled_refit_rescores_and_recounts(client, app_module, stores):
    drawings, _ = stores
    bodies = [drawing_body(letter="О") for _ in range(3)]
    for body in bodies:
        post_json(client, "/drawings", body)
    result = app_module.refit_and_rescore(SCHEDULED_EVENT, LambdaContext())
    # Three drawings are too few to fit a letter: the starter letter check judges them. Without
    # a queue, the rescore batches are rescored in this process, by the queue function's code.
    assert result["rescore"]["sent"] == 3 and result["rescore"]["done"]
    assert drawings.get_json("models/current.json")["version"] == result["model"]
    assert result["counted_late"] == 3, "the test client fires no events: the schedule counts them"
    letter = {
        key: drawings.get_json("stats/letters/cyrillic/U+041E.json")[key]
        for key in ("count", "accepted")
    }
    assert letter["count"] == 3
    cyrillic = public_stats(drawings, 1000)["alphabets"]["cyrillic"]
    assert cyrillic["letters"]["О"] == letter["accepted"] == cyrillic["total"]
    for body in bodies:
        tags = drawings.get_tags(DrawingRef("cyrillic", "О", body["id"]).png_key)
        assert tags["model"] == result["model"] and "status" in tags
    again = app_module.refit_and_rescore(SCHEDULED_EVENT, LambdaContext())
    assert again["counted_late"] == 0, "a drawing is counted once"
    assert again["model"] == result["model"] and again["refitted"] == []
    assert again["rescore"]["sent"] == 0, "the same model rescores nothing twice"
    assert public_stats(drawings, 1000)["alphabets"]["cyrillic"] == cyrillic


def test_local_start_tags_drawings_left_untagged(tmp_path):
    from chalicelib import intake
    from chalicelib.storage import LocalStorage
    from chalicelib.validation import validate_drawing
    from comnist.local import local_system
    from factories import drawing_body as body_factory

    plain = LocalStorage(tmp_path / "drawings")
    body = body_factory(letter="Я")
    intake.submit_drawing(plain, validate_drawing(body))  # stored, but no event was ever delivered
    key = DrawingRef("cyrillic", "Я", body["id"]).png_key
    assert plain.get_tags(key) == {}
    with local_system(tmp_path) as (drawings, _, pump, _):
        pump.drain()
        assert drawings.get_tags(key)["status"] in ("unscored", "ok", "suspicious")


def test_local_start_counts_a_drawing_whose_handler_died_after_tagging(tmp_path):
    from chalicelib import intake, sanitizing
    from chalicelib.storage import LocalStorage
    from chalicelib.validation import validate_drawing
    from comnist.local import local_system

    plain = LocalStorage(tmp_path / "drawings")
    body = drawing_body(letter="Ё")
    intake.submit_drawing(plain, validate_drawing(body))
    sanitizing.tag_drawing(plain, DrawingRef("cyrillic", "Ё", body["id"]).png_key)  # then died
    assert letter_count(plain, "cyrillic", "Ё") == 0
    with local_system(tmp_path) as (drawings, _, pump, _):
        pump.drain()
        assert letter_count(drawings, "cyrillic", "Ё") == 1


def test_the_schedule_finishes_a_count_whose_handler_died_and_was_never_retried(tmp_path):
    from chalicelib import intake, stats
    from chalicelib.storage import LocalStorage
    from chalicelib.validation import validate_drawing

    class DiesAfterTheIncrement(LocalStorage):
        def put(self, key, data, **kwargs):
            if key.startswith("counted/"):
                raise TimeoutError("the Lambda ran out of time")
            return super().put(key, data, **kwargs)

    store = DiesAfterTheIncrement(tmp_path / "drawings")
    body = drawing_body(letter="Щ")
    intake.submit_drawing(store, validate_drawing(body))
    ref = DrawingRef("cyrillic", "Щ", body["id"])
    with pytest.raises(TimeoutError):
        stats.count_drawing(store, ref, intake.utc_now())
    counter_key = "stats/letters/cyrillic/U+0429.json"
    # Untagged (its scoring died too): not flagged, so counted accepted.
    assert store.get_json(counter_key)["pending"] == [{"id": ref.id, "accepted": True}]

    plain = LocalStorage(tmp_path / "drawings")
    assert stats.count_uncounted(plain, intake.utc_now()) == 0, "already counted, not again"
    counter = plain.get_json(counter_key)
    assert (counter["count"], counter["accepted"], counter["pending"]) == (1, 1, [])
    assert plain.exists(ref.counted_key)
