"""The per-session cap: N new drawings per session, letter and hour; beyond them 429, never for a replay.

The races are made deterministic as in ``test_races``: every racer is held at a barrier just
before the write that decides its race (its first slot), so all of them have already counted
the slots and found the same one free.
"""

from __future__ import annotations

import threading
import uuid

import moto  # noqa: F401  (moto before boto3)
import pytest
import test_races
from test_races import Interposed, first_calls_wait, run_together

from chalicelib import intake, limits
from chalicelib.keys import DrawingRef
from chalicelib.validation import ApiError, validate_drawing
from factories import drawing_body, post_json

backend = test_races.backend  # the same two stores as the race tests: a folder and moto's S3
CAP = 5
NOW = "2026-11-27T03:59:30.000Z"


def drawing(session: str, letter: str = "Ж", **overrides):
    return validate_drawing(drawing_body(session=session, letter=letter, **overrides))


def submit(store, item, now: str = NOW) -> int:
    try:
        return intake.submit_drawing(store, item, now=now, per_hour=CAP)[0]
    except ApiError as error:
        return error.status


def pngs(store) -> list[str]:
    return list(store.list_keys("drawings/"))


def test_a_session_gets_its_cap_per_letter_and_hour_then_429_until_the_hour_ends(backend):
    session = str(uuid.uuid4())
    assert [submit(backend, drawing(session)) for _ in range(CAP)] == [201] * CAP
    with pytest.raises(ApiError) as refused:
        intake.submit_drawing(backend, drawing(session), now=NOW, per_hour=CAP)
    assert refused.value.status == 429
    assert refused.value.headers == {"Retry-After": "30"}, "the hour ends in 30 s"
    assert "Retry-After" in refused.value.message
    assert len(pngs(backend)) == CAP, "nothing of the refused drawing is stored"
    assert len(list(backend.list_keys("requests/"))) == CAP, "nor claimed"

    assert submit(backend, drawing(session, letter="Д")) == 201, "another letter has its own cap"
    assert submit(backend, drawing(str(uuid.uuid4()))) == 201, "another session has its own cap"
    assert submit(backend, drawing(session), now="2026-11-27T04:00:00.000Z") == 201, "a new hour"


def test_a_replay_beyond_the_cap_still_gets_its_200(backend):
    session = str(uuid.uuid4())
    first = drawing(session)
    assert submit(backend, first) == 201
    for _ in range(CAP - 1):
        assert submit(backend, drawing(session)) == 201
    assert submit(backend, drawing(session)) == 429
    assert submit(backend, first) == 200, "a retry of a stored drawing is never refused"
    assert len(pngs(backend)) == CAP


def test_a_retry_after_a_failed_write_takes_no_second_slot(backend):
    session = str(uuid.uuid4())
    store = Interposed(backend)
    item = drawing(session)
    ref = DrawingRef(item.alphabet, item.letter, item.id)
    failing = {"on": True}

    def png_fails(key: str) -> None:
        if key == ref.png_key and failing["on"]:
            from chalicelib.storage import StorageUnavailable

            raise StorageUnavailable("S3 is down")

    store.before_put = png_fails
    assert submit(store, item) == 503
    failing["on"] = False
    assert submit(store, item) == 201
    slots = list(backend.list_keys(limits.LIMITS_PREFIX))
    assert len(slots) == 1, "the claim made the retry a replay"


def test_racing_new_drawings_of_one_session_get_exactly_the_cap(backend):
    store = Interposed(backend)
    session = str(uuid.uuid4())
    racers = 8
    items = [drawing(session) for _ in range(racers)]
    # Every racer has counted the hour's slots (none) before any of them takes one.
    store.before_put = first_calls_wait(
        threading.Barrier(racers), lambda key: key.startswith(limits.LIMITS_PREFIX)
    )

    answers = run_together(lambda i: submit(store, items[i]), racers)

    assert sorted(answers) == [201] * CAP + [429] * (racers - CAP)
    assert len(pngs(backend)) == CAP
    assert len(list(backend.list_keys(limits.LIMITS_PREFIX))) == CAP


def test_identical_posts_at_once_take_one_slot_even_at_the_cap(backend):
    store = Interposed(backend)
    session = str(uuid.uuid4())
    for _ in range(CAP - 1):
        assert submit(backend, drawing(session)) == 201
    last = drawing(session)
    racers = 8
    store.before_put = first_calls_wait(
        threading.Barrier(racers), lambda key: key.startswith(limits.LIMITS_PREFIX)
    )

    answers = run_together(lambda i: submit(store, last), racers)

    assert sorted(answers) == [200] * (racers - 1) + [201], "one drawing, the cap's last slot"
    assert len(pngs(backend)) == CAP


def test_the_api_answers_429_as_json_with_retry_after(client, stores, monkeypatch):
    monkeypatch.setenv("COMNIST_SESSION_CAP", "2")
    monkeypatch.setenv("COMNIST_SITE_ORIGINS", "https://draw.example.org")
    session = str(uuid.uuid4())
    origin = {"Origin": "https://draw.example.org"}
    statuses = [
        post_json(client, "/drawings", drawing_body(session=session), **origin).status_code
        for _ in range(2)
    ]
    assert statuses == [201, 201]
    refused = post_json(client, "/drawings", drawing_body(session=session), **origin)
    assert refused.status_code == 429
    assert refused.headers["Content-Type"].startswith("application/json")
    assert 1 <= int(refused.headers["Retry-After"]) <= 3600
    assert "Retry-After" in refused.headers["Access-Control-Expose-Headers"]
    assert "this session" in refused.json_body["error"]


def test_slots_are_whole_objects_under_the_sessions_own_prefix(backend):
    session = str(uuid.uuid4())
    item = drawing(session)
    assert submit(backend, item) == 201
    (slot,) = backend.list_keys(limits.LIMITS_PREFIX)
    assert slot == f"limits/{session}/cyrillic/U+0416/20261127T03/00000.json"
    assert backend.get_json(slot) == {"id": item.id}
