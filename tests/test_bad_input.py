"""Every kind of bad input is refused with a 4xx and a clear message, and nothing is written."""

from __future__ import annotations

import json
import threading

import pytest

from chalicelib import config
from chalicelib.keys import DrawingRef
from chalicelib.storage import LocalStorage, StorageUnavailable
from factories import drawing_body, post_json


def keys(store) -> list[str]:
    return list(store.list_keys())


def with_strokes(strokes, **extra):
    return drawing_body(strokes=strokes, **extra)


def points(n, x=100.0, y=100.0, t0=0):
    return [[x + i % 50 for i in range(n)], [y] * n, list(range(t0, t0 + n))]


BAD_DRAWINGS = {
    "malformed JSON": ('{"id": ', 400, "JSON"),
    "a JSON list": ("[1, 2]", 400, "object"),
    "NaN coordinate": (
        json.dumps(drawing_body()).replace("[150, 150, 150]", "[NaN, 150, 150]"),
        400,
        "NaN",
    ),
    "Infinity coordinate": (
        json.dumps(drawing_body()).replace("[150, 150, 150]", "[Infinity, 150, 150]"),
        400,
        "Infinity",
    ),
    "huge number": (
        json.dumps(drawing_body()).replace("[150, 150, 150]", "[1e400, 150, 150]"),
        400,
        "x",
    ),
    "string coordinate": (with_strokes([[["1"], [2], [0]]]), 400, "number"),
    "null coordinate": (with_strokes([[[None], [2], [0]]]), 400, "number"),
    "boolean coordinate": (with_strokes([[[True], [2], [0]]]), 400, "number"),
    "far outside the canvas": (with_strokes([[[100, 5000], [100, 100], [0, 1]]]), 400, "between"),
    "negative far outside": (with_strokes([[[-500], [100], [0]]]), 400, "between"),
    "t going backwards": (with_strokes([[[1, 2, 3], [1, 2, 3], [0, 50, 40]]]), 400, "backwards"),
    "t backwards across strokes": (
        with_strokes([[[1], [1], [100]], [[2], [2], [50]]]),
        400,
        "backwards",
    ),
    "negative t": (with_strokes([[[1], [1], [-5]]]), 400, "t of stroke"),
    "too many strokes": (with_strokes([points(1)] * 65), 400, "too many strokes"),
    "too many points in a stroke": (with_strokes([points(1001)]), 400, "too many points"),
    "too many points in all": (with_strokes([points(900, t0=1000 * i) for i in range(5)]), 400, "too many points"),
    "empty strokes": (with_strokes([]), 400, "strokes"),
    "empty stroke": (with_strokes([[[], [], []]]), 400, "at least one"),
    "uneven stroke": (with_strokes([[[1, 2], [1], [0, 1]]]), 400, "as many"),
    "stroke not a triple": (with_strokes([[[1], [1]]]), 400, "stroke 0"),
    "unknown alphabet": (drawing_body(alphabet="klingon"), 400, "unknown alphabet"),
    "letter of another alphabet": (drawing_body(alphabet="latin", letter="Ж"), 400, "latin"),
    "lower-case letter": (drawing_body(letter="ж"), 400, "capital"),
    "path-like letter": (drawing_body(letter="../"), 400, "exactly one"),
    "slash": (drawing_body(letter="/"), 400, "capital"),
    "backslash": (drawing_body(letter="\\"), 400, "capital"),
    "NUL": (drawing_body(letter="\x00"), 400, "capital"),
    "right-to-left mark": (drawing_body(letter="\u200fЖ"), 400, "exactly one"),
    "combining character": (drawing_body(letter="И\u0306"), 400, "exactly one"),
    "two letters": (drawing_body(letter="ЖЖ"), 400, "exactly one"),
    "letter not a string": (drawing_body(letter=["Ж"]), 400, "string"),
    "missing strokes": (
        {k: v for k, v in drawing_body().items() if k != "strokes"},
        400,
        "missing",
    ),
    "missing id": ({k: v for k, v in drawing_body().items() if k != "id"}, 400, "missing"),
    "unknown field": (drawing_body(ip="1.2.3.4"), 400, "unknown field"),
    "id not a UUID": (drawing_body(id="../../etc/passwd"), 400, "UUID4"),
    "id a UUID1": (drawing_body(id="c232ab00-9414-11ec-b3c8-9f6bdeced846"), 400, "UUID4"),
    "session not a UUID": (drawing_body(session=5), 400, "UUID4"),
    "huge canvas": (drawing_body(canvas={"width": 100000, "height": 100000}), 400, "canvas.width"),
    "tiny canvas": (drawing_body(canvas={"width": 1, "height": 300}), 400, "canvas.width"),
    "canvas with extra keys": (
        drawing_body(canvas={"width": 300, "height": 300, "depth": 3}),
        400,
        "canvas",
    ),
    "unknown pointer": (drawing_body(device={"pointer": "nose", "dpr": 1}), 400, "pointer"),
    "dpr out of range": (drawing_body(device={"pointer": "pen", "dpr": 1000}), 400, "dpr"),
    "bad locale": (drawing_body(locale="../../x"), 400, "locale"),
}


@pytest.mark.parametrize("case", sorted(BAD_DRAWINGS))
def test_bad_drawing_is_refused_and_nothing_written(client, stores, case):
    body, status, words = BAD_DRAWINGS[case]
    response = post_json(client, "/drawings", body)
    assert response.status_code == status, response.body
    message = response.json_body["error"]
    assert words.lower() in message.lower(), message
    assert keys(stores[0]) == [] and keys(stores[1]) == []


def test_wrong_content_type_and_oversized_body(client, stores):
    response = client.http.post(
        "/drawings", headers={"Content-Type": "text/plain"}, body=json.dumps(drawing_body())
    )
    assert response.status_code == 415 and "application/json" in response.json_body["error"]
    response = client.http.post(
        "/drawings", headers={"Content-Type": "application/x-www-form-urlencoded"}, body="a=b"
    )
    assert response.status_code == 415
    big = json.dumps(drawing_body(padding="x" * 300_000))
    response = post_json(client, "/drawings", big)
    assert response.status_code == 413 and "larger" in response.json_body["error"]
    assert keys(stores[0]) == []


BAD_CONTRIBUTORS = {
    "name without consent": (
        {"name": "Anna", "consent": {"thanks_page": False, "updates": False}},
        "consent",
    ),
    "e-mail without consent": (
        {"email": "a@example.org", "consent": {"thanks_page": False, "updates": False}},
        "consent",
    ),
    "bad e-mail": (
        {"email": "not an email", "consent": {"thanks_page": False, "updates": True}},
        "e-mail",
    ),
    "e-mail with markup": (
        {"email": "<a@b.c>", "consent": {"thanks_page": False, "updates": True}},
        "e-mail",
    ),
    "overlong name": ({"name": "x" * 81, "consent": {"thanks_page": True, "updates": False}}, "80"),
    "control characters": (
        {"name": "a\x07b", "consent": {"thanks_page": True, "updates": False}},
        "control",
    ),
    "bidi override": (
        {"name": "a\u202eb", "consent": {"thanks_page": True, "updates": False}},
        "control",
    ),
    "consent missing": ({"name": "Anna"}, "missing"),
    "consent not booleans": ({"consent": {"thanks_page": "yes", "updates": 1}}, "consent"),
    "negative count": ({"count": -1, "consent": {"thanks_page": False, "updates": False}}, "count"),
    "count as string": (
        {"count": "3", "consent": {"thanks_page": False, "updates": False}},
        "count",
    ),
    "unknown field": (
        {"ip": "1.2.3.4", "consent": {"thanks_page": False, "updates": False}},
        "unknown",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_CONTRIBUTORS))
def test_bad_contributor_is_refused_and_nothing_written(client, stores, case):
    extra, words = BAD_CONTRIBUTORS[case]
    body = {"session": drawing_body()["session"], **extra}
    response = post_json(client, "/contributors", body)
    assert response.status_code == 400, response.body
    assert words.lower() in response.json_body["error"].lower()
    assert keys(stores[1]) == []


class FailingStore(LocalStorage):
    """A store whose Nth write fails the way an unreachable S3 does."""

    def __init__(self, root, fail_on: int) -> None:
        super().__init__(root)
        self.fail_on = fail_on
        self.puts = 0

    def put(self, key, data, **kwargs):
        self.puts += 1
        if self.puts == self.fail_on:
            raise StorageUnavailable("S3 is down")
        return super().put(key, data, **kwargs)


@pytest.mark.parametrize("fail_on", [1, 2, 3])
def test_storage_failure_is_503_with_retry_hint_and_leaves_nothing_half_written(
    client, stores, tmp_path, fail_on
):
    failing = FailingStore(tmp_path / "failing", fail_on)
    config.use_stores(failing, stores[1])
    body = drawing_body()
    response = post_json(client, "/drawings", body)
    assert response.status_code == 503
    assert response.headers["Retry-After"].isdigit()
    assert "retry" in response.json_body["error"]
    assert keys(failing) == [], "no half-written drawing"
    # The retry with the same id succeeds once storage is back.
    failing.fail_on = 0
    assert post_json(client, "/drawings", body).status_code == 201
    assert DrawingRef("cyrillic", "Ж", body["id"]).png_key in keys(failing)


def test_concurrent_identical_posts_store_one_drawing(app_module, stores):
    from comnist.serve import GatewayPool

    pool = GatewayPool(app_module, copies=4)
    body = json.dumps(drawing_body()).encode()
    statuses = []

    def send():
        response = pool.handle("POST", "/drawings", {"content-type": "application/json"}, body)
        statuses.append(response["statusCode"])

    threads = [threading.Thread(target=send) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses).count(201) >= 1 and set(statuses) <= {200, 201}
    pngs = [k for k in keys(stores[0]) if k.endswith(".png")]
    assert len(pngs) == 1
