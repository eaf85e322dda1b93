"""The scheduled loop at any size: versions by content, refits of what changed, a rescore sent
out in batches from a cursor, an exact count of the drawings that are not flagged, and
``GET /stats`` in one read."""

from __future__ import annotations

import json
import random

import pytest
from test_sanitizer import drawing_id, letter_png, scribble_png
from test_sanitizer_jobs import fill, put_drawing

from chalicelib import config, events, queues, sanitizing, stats
from chalicelib.keys import (
    MODELS_CURRENT_KEY,
    RESCORE_CURSOR_KEY,
    SAMPLE_START_KEY,
    STATS_SUMMARY_KEY,
    DrawingRef,
)
from chalicelib.storage import LocalStorage, S3Storage
from sanitizer.model import WARM_EPOCHS

FAST = {"min_drawings": 20, "classifier_epochs": 5}


@pytest.fixture
def store(tmp_path):
    return LocalStorage(tmp_path / "data" / "drawings")


def model_versions(store) -> set[str]:
    return {key for key in store.list_keys("models/") if key.endswith(".json") and "/m" in key} - {
        MODELS_CURRENT_KEY,
        RESCORE_CURSOR_KEY,
    }


def test_an_unchanged_sample_keeps_its_version_and_nothing_is_rescored_twice(store):
    refs = fill(store, per_letter=22)
    first = sanitizing.refit_outcome(store, **FAST)
    assert first.changed and first.refitted == ["cyrillic", "latin"]
    assert first.decoded == len(refs)
    assert sum(sanitizing.rescore(store, workers=2).values()) == len(refs)

    again = sanitizing.refit_outcome(store, **FAST)
    assert not again.changed and again.refitted == [] and again.decoded == 0
    assert again.model.version == first.model.version
    assert store.get_json(MODELS_CURRENT_KEY)["version"] == first.model.version
    assert sanitizing.rescore(store, workers=2) == {}, "a second rescore does nothing"
    assert len(model_versions(store)) == 1

    # Other options are other inputs: another version.
    other = sanitizing.plan_refit(store, **{**FAST, "contamination": 0.05})
    assert other.changed and other.version != first.model.version


def test_a_new_drawing_refits_its_alphabet_only_from_the_cache_and_the_last_weights(store):
    refs = fill(store, per_letter=22)
    first = sanitizing.refit_outcome(store, **FAST)
    sanitizing.rescore(store, workers=2)
    epochs = first.model.classifier_epochs["latin"]
    added = put_drawing(store, "T", letter_png("T", random.Random(9)), drawing_id(random.Random(9)))

    plan = sanitizing.plan_refit(store, **FAST)
    assert plan.refitted == ["latin"] and plan.to_decode == 1
    assert sanitizing.estimated_refit_seconds(plan, FAST) > 0
    second = sanitizing.run_refit(store, plan, **FAST)
    assert second.changed and second.decoded == 1
    assert second.model.version != first.model.version
    assert second.model.classifier_epochs["latin"] == epochs + WARM_EPOCHS, "warm-started"
    assert second.model.was_trained_on(added.id)
    assert all(second.model.was_trained_on(ref.id) for ref in refs)
    # Only the refitted alphabet's drawings are sent out again.
    assert sum(sanitizing.rescore(store, workers=2).values()) == len(refs) + 1
    assert store.get_tags(added.png_key)["model"] == second.model.version

    # A verdict is an input too: the same drawings with a verdict make another version.
    sanitizing.mark(store, refs[0].id, "rejected")
    assert sanitizing.plan_refit(store, **FAST).refitted == ["latin"]
    # An alphabet not asked for is left as it is.
    assert sanitizing.plan_refit(store, alphabets_wanted=["cyrillic"], **FAST).refitted == []


def test_the_rescore_goes_out_in_batches_from_a_cursor_and_keeps_verdicts(store):
    refs = fill(store, per_letter=22)
    sanitizing.refit_outcome(store, **FAST)
    judged = refs[3]
    sanitizing.mark(store, judged.id, "rejected")
    sent: list[dict] = []
    sends = []

    def send(messages):
        sends.append(len(messages))
        sent.extend(messages)

    stop_now = sanitizing.enqueue_rescore(
        store, send, should_stop=lambda: True, batch=10, messages_per_send=2
    )
    assert stop_now["done"] is False and stop_now["sent"] == 20 and sends == [2]
    rest = sanitizing.enqueue_rescore(store, send, batch=10, messages_per_send=2)
    assert rest["done"] and stop_now["sent"] + rest["sent"] == len(refs)
    keys = [key for message in sent for key in message["keys"]]
    assert sorted(keys) == sorted(ref.png_key for ref in refs), "each drawing sent once"
    assert sanitizing.enqueue_rescore(store, send)["sent"] == 0

    counts: dict[str, int] = {}
    for message in sent:
        for status, n in sanitizing.rescore_batch(store, message).items():
            counts[status] = counts.get(status, 0) + n
    assert sum(counts.values()) == len(refs)
    assert store.get_tags(judged.png_key)["verdict"] == "rejected"
    assert sanitizing.verdict_of(store, judged.png_key) == "rejected"
    assert sanitizing.rescore_batch(store, {**sent[0], "part": "another"}) == {"stale": 10}
    foreign = {**sent[0], "keys": ["drawings/latin/U+0054/not-an-id.png"]}
    assert sanitizing.rescore_batch(store, foreign) == {"ignored": 1}


def test_the_queue_function_rescores_what_the_schedule_sends(app_module, stores, aws):
    """In a stage, batches go through SQS to ``rescore_drawings``; locally, straight to it."""
    import boto3

    drawings, _ = stores
    refs = fill(drawings, per_letter=22)
    sanitizing.refit_outcome(drawings, **FAST)
    sqs = boto3.client("sqs", region_name="us-east-1")
    url = sqs.create_queue(QueueName="rescore")["QueueUrl"]
    sanitizing.enqueue_rescore(drawings, queues.sqs_sender("rescore", sqs), batch=30)
    received = []
    while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages"):
        received += batch
        for message in batch:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    assert len(received) == -(-len(refs) // 30)
    from chalice.test import Client

    with Client(app_module.app) as client:
        event = client.events.generate_sqs_event(
            message_bodies=[m["Body"] for m in received], queue_name="rescore"
        )
        counts = client.lambda_.invoke("rescore_drawings", event).payload
    assert sum(counts.values()) == len(refs)
    version = drawings.get_json(MODELS_CURRENT_KEY)["version"]
    assert all(drawings.get_tags(ref.png_key)["model"] == version for ref in refs)


def goal(store) -> int:
    return stats.public_stats(store, 1000)["alphabets"]["latin"]["letters"]["T"]


def test_the_goal_counts_drawings_not_flagged_exactly_once_whatever_changes(store):
    config.use_stores(store, store)
    rng = random.Random(5)
    good = [put_drawing(store, "T", letter_png("T", rng), drawing_id(rng)) for _ in range(3)]
    junk = put_drawing(store, "T", scribble_png(rng), drawing_id(rng))
    for ref in [*good, junk, good[0]]:  # one event delivered twice
        events.process_new_drawing(store, ref.png_key)
    assert store.get_tags(junk.png_key)["status"] == "suspicious"
    assert goal(store) == 3
    counter = store.get_json("stats/letters/latin/U+0054.json")
    assert counter["count"] == 4 and counter["accepted"] == 3 and counter["pending"] == []

    sanitizing.mark(store, junk.id, "ok")
    assert goal(store) == 4
    sanitizing.mark(store, good[1].id, "rejected")
    sanitizing.mark(store, good[1].id, "rejected")
    assert goal(store) == 3
    # A rescore that re-tags everything, twice, and the late count change nothing more.
    for ref in [*good, junk] * 2:
        sanitizing.tag_drawing(store, ref.png_key)
        stats.count_drawing(store, ref, "2026-01-01T00:00:00Z")
    assert stats.count_uncounted(store, "2026-01-01T00:00:00Z") == 0
    assert goal(store) == 3
    assert stats.build_summary(store)["letters"]["latin/U+0054"]["accepted"] == 3

    # A rescore that flags a drawing takes it out of the goal.
    store.put_tags(good[2].png_key, {**store.get_tags(good[2].png_key), "status": "suspicious"})
    stats.count_drawing(store, good[2], "2026-01-02T00:00:00Z")
    assert goal(store) == 2
    counter = store.get_json("stats/letters/latin/U+0054.json")
    assert counter["count"] == 4 and counter["accepted"] == 2


def test_a_change_left_half_done_is_finished_once(store):
    rng = random.Random(6)
    ref = put_drawing(store, "T", letter_png("T", rng), drawing_id(rng))
    sanitizing.tag_drawing(store, ref.png_key)
    key = "stats/letters/latin/U+0054.json"
    # A counter from before the states, with a handler that died after step 1.
    store.put_json(key, {"count": 1, "pending": [ref.id], "updated": None})
    stats.count_drawing(store, ref, "2026-01-01T00:00:00Z")
    counter = store.get_json(key)
    assert counter["count"] == 1 and counter["accepted"] == 1 and counter["pending"] == []
    assert store.get_json(ref.counted_key)["accepted"] is True


def test_get_stats_makes_one_storage_read(aws, app_module):
    aws.create_bucket(Bucket="drawings")
    requests: list[str] = []
    aws.meta.events.register("before-call.s3.*", lambda model, **_: requests.append(model.name))
    store = S3Storage("drawings", aws)
    config.use_stores(store, store)
    ref = DrawingRef("cyrillic", "Ж", drawing_id(random.Random(7)))
    store.put(ref.png_key, letter_png("T", random.Random(7)), content_type="image/png")
    store.put_tags(ref.png_key, {"status": "ok"})
    stats.count_drawing(store, ref, "2026-01-01T00:00:00Z")
    from chalice.test import Client

    with Client(app_module.app) as client:
        requests.clear()
        response = client.http.get("/stats")
    assert requests == ["GetObject"], requests
    body = json.loads(response.body)
    assert body["alphabets"]["cyrillic"]["letters"]["Ж"] == 1
    assert store.exists(STATS_SUMMARY_KEY)


def test_a_decoded_sample_from_other_decoding_code_is_decoded_again(store, monkeypatch):
    refs = fill(store, per_letter=22)
    sanitizing.refit_outcome(store, **FAST)
    added = put_drawing(store, "L", letter_png("L", random.Random(8)), drawing_id(random.Random(8)))
    assert sanitizing.plan_refit(store, **FAST).to_decode == 1
    monkeypatch.setattr("sanitizer.model.extraction_fingerprint", lambda: "other decoding")
    assert sanitizing.plan_refit(store, **FAST).to_decode == len(refs) + 1
    assert added.png_key not in sanitizing._read_cache(store, "latin")


def test_a_refit_stopped_at_its_decoding_deadline_keeps_what_it_decoded_and_the_next_finishes(
    store, monkeypatch, tmp_path
):
    refs = fill(store, per_letter=22)
    monkeypatch.setattr(sanitizing, "DECODE_CHUNK", 30)
    stopped = sanitizing.refit_outcome(store, should_stop=lambda: True, **FAST)
    assert not stopped.complete and not stopped.changed and stopped.refitted == []
    assert stopped.decoded == 30, "one chunk, then the deadline"
    assert stopped.model is None and model_versions(store) == set(), "nothing fitted"
    plan = sanitizing.plan_refit(store, **FAST)
    assert plan.to_decode == len(refs) - 30, "the next refit decodes only the rest"

    finished = sanitizing.refit_outcome(store, **FAST)
    assert finished.complete and finished.changed and finished.decoded == len(refs) - 30
    # The same model as a refit that decoded everything at once.
    whole = LocalStorage(tmp_path / "whole")
    fill(whole, per_letter=22)
    whole.put_json(SAMPLE_START_KEY, store.get_json(SAMPLE_START_KEY))
    at_once = sanitizing.refit_outcome(whole, **FAST)
    assert at_once.model.version == finished.model.version
    assert at_once.model.to_json().replace(at_once.model.created.encode(), b"") == (
        finished.model.to_json().replace(finished.model.created.encode(), b"")
    )
