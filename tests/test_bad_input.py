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


def drawing_pngs(store) -> list[str]:
    """The drawings that exist: what every reader of the store starts from."""
    return list(store.list_keys("drawings/"))


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
    "too many points in all": (
        with_strokes([points(900, t0=1000 * i) for i in range(5)]),
        400,
        "too many points",
    ),
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
    "locale with a trailing newline": (drawing_body(locale="ru\n"), 400, "locale"),
    "400-digit x": (with_strokes([[[10**400], [100], [0]]]), 400, "x of stroke 0"),
    "400-digit y": (with_strokes([[[100], [-(10**400)], [0]]]), 400, "y of stroke 0"),
    "400-digit t": (with_strokes([[[100], [100], [10**400]]]), 400, "t of stroke 0"),
    "400-digit canvas": (
        drawing_body(canvas={"width": 10**400, "height": 300}),
        400,
        "canvas.width",
    ),
    "400-digit dpr": (drawing_body(device={"pointer": "pen", "dpr": 10**400}), 400, "dpr"),
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
        "format characters",
    ),
    "zero-width space in a name": (
        {"name": "An\u200bna", "consent": {"thanks_page": True, "updates": False}},
        "format characters",
    ),
    "right-to-left mark in a name": (
        {"name": "\u200fAnna", "consent": {"thanks_page": True, "updates": False}},
        "format characters",
    ),
    "zero-width joiner padding a name": (
        {"name": "Anna" + "\u200d" * 40, "consent": {"thanks_page": True, "updates": False}},
        "format characters",
    ),
    "byte order mark in an e-mail": (
        {"email": "\ufeffa@example.org", "consent": {"thanks_page": False, "updates": True}},
        "format characters",
    ),
    "soft hyphen in an e-mail": (
        {"email": "an\u00adna@example.org", "consent": {"thanks_page": False, "updates": True}},
        "format characters",
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
    assert drawing_pngs(failing) == [], "no drawing until the retry completes it"
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


MALFORMED_BODIES = {
    "truncated": b'{"id": "x", "strokes": [[[1',
    "trailing garbage": json.dumps(drawing_body()).encode() + b" }",
    "two objects": json.dumps(drawing_body()).encode() * 2,
    "invalid UTF-8": b'{"letter": "\xff\xfe"}',
    "byte-order mark": "\ufeff".encode() + json.dumps(drawing_body()).encode(),
    "single quotes": json.dumps(drawing_body()).replace('"', "'").encode(),
    "deep nesting": b"[" * 100_000 + b"]" * 100_000,
    "bare string": b'"just a string"',
    "null": b"null",
    "empty": b"",
    "whitespace": b"   \n",
}


@pytest.mark.parametrize("path", ["/drawings", "/contributors"])
@pytest.mark.parametrize("case", sorted(MALFORMED_BODIES))
def test_malformed_json_is_refused_with_a_clear_message(client, stores, path, case):
    response = post_json(client, path, MALFORMED_BODIES[case])
    assert response.status_code == 400, response.body
    assert "json" in response.json_body["error"].lower()
    assert keys(stores[0]) == [] and keys(stores[1]) == []


@pytest.mark.parametrize("path", ["/drawings", "/contributors"])
def test_missing_content_type_is_refused(app_module, stores, path):
    from comnist.serve import GatewayPool

    pool = GatewayPool(app_module, copies=1)
    body = json.dumps(drawing_body()).encode()
    response = pool.handle("POST", path, {}, body)
    assert response["statusCode"] == 415
    assert "application/json" in json.loads(response["body"])["error"]
    assert keys(stores[0]) == [] and keys(stores[1]) == []


HOSTILE_LETTERS = [
    "../",
    "..",
    ".",
    "/",
    "\\",
    "\x00",
    "\u200f",
    "\u202e",
    "\u0306",
    "AB",
    "A\u0301",
    "Ａ",
    "а",
]


@pytest.mark.parametrize("letter", HOSTILE_LETTERS, ids=ascii)
@pytest.mark.parametrize("alphabet", ["latin", "cyrillic"])
def test_hostile_letters_never_reach_a_key(client, stores, alphabet, letter):
    response = post_json(client, "/drawings", drawing_body(alphabet=alphabet, letter=letter))
    assert response.status_code == 400
    assert "letter" in response.json_body["error"]
    assert keys(stores[0]) == []


@pytest.mark.parametrize("alphabet", ["../latin", "latin/", "LATIN", "", "latin\x00", "__proto__"])
def test_hostile_alphabets_are_refused(client, stores, alphabet):
    response = post_json(client, "/drawings", drawing_body(alphabet=alphabet, letter="A"))
    assert response.status_code == 400
    assert "alphabet" in response.json_body["error"]
    assert keys(stores[0]) == []


def test_an_unknown_alphabet_is_not_echoed_back_whole(client, stores):
    response = post_json(client, "/drawings", drawing_body(alphabet="x" * 200_000, letter="A"))
    assert response.status_code == 400
    message = response.json_body["error"]
    assert "unknown alphabet" in message and len(message) < 200
    assert keys(stores[0]) == []


def test_a_country_header_with_a_trailing_newline_is_not_stored(client, stores, monkeypatch):
    body = drawing_body()
    monkeypatch.setenv("COMNIST_ORIGIN_SECRET", "from-cloudfront")
    headers = {"CloudFront-Viewer-Country": "FR\n", "X-Comnist-Origin": "from-cloudfront"}
    response = post_json(client, "/drawings", body, **headers)
    assert response.status_code == 201
    record = stores[0].get_json(DrawingRef("cyrillic", "Ж", body["id"]).record_key)
    assert record["country"] is None


@pytest.mark.parametrize(
    ("method", "path", "content_type", "status"),
    [
        ("POST", "/drawings", "image/png", 415),
        ("POST", "/contributors", "image/png", 415),
        ("GET", "/drawings", None, 405),
        ("PUT", "/contributors", "application/json", 405),
        ("DELETE", "/stats", None, 405),
    ],
)
def test_refusals_chalice_makes_come_in_the_apis_one_form(
    client, stores, method, path, content_type, status
):
    headers = {"Content-Type": content_type} if content_type else {}
    response = client.http.request(method, path, headers=headers, body=b"\x89PNG")
    assert response.status_code == status
    assert set(response.json_body) == {"error"} and response.json_body["error"]
    assert response.headers["Content-Type"].startswith("application/json")
    assert keys(stores[0]) == []


def test_largest_canvas_still_makes_a_small_png(client, stores):
    """A canvas at the limit is scaled into 278x278: no image as big as the canvas is made."""
    strokes = [[[0, 4096, 2048], [0, 4096, 100], [0, 10, 20]]]
    body = drawing_body(strokes=strokes, canvas={"width": 4096, "height": 4096})
    assert post_json(client, "/drawings", body).status_code == 201
    (png,) = [k for k in keys(stores[0]) if k.endswith(".png")]
    from io import BytesIO

    from PIL import Image

    with Image.open(BytesIO(stores[0].get(png).data)) as image:
        assert image.size == (278, 278) and image.mode == "RGBA"


def test_replay_is_200_with_the_same_answer_and_one_object(client, stores):
    body = drawing_body()
    first = post_json(client, "/drawings", body)
    stored = {k: stores[0].get(k).data for k in keys(stores[0])}
    # The same body with another key order and spacing is the same drawing.
    reordered = json.dumps(dict(reversed(list(body.items()))), indent=2)
    for replay in (body, reordered):
        again = post_json(client, "/drawings", replay)
        assert (first.status_code, again.status_code) == (201, 200)
        assert again.json_body == first.json_body
    assert {k: stores[0].get(k).data for k in keys(stores[0])} == stored


def test_same_id_with_another_body_is_409_and_changes_nothing(client, stores):
    body = drawing_body()
    assert post_json(client, "/drawings", body).status_code == 201
    stored = {k: stores[0].get(k).data for k in keys(stores[0])}
    for other in (drawing_body(id=body["id"], letter="Ш"), dict(body, locale="uk")):
        response = post_json(client, "/drawings", other)
        assert response.status_code == 409
        assert "different drawing" in response.json_body["error"]
    assert {k: stores[0].get(k).data for k in keys(stores[0])} == stored


def test_concurrent_identical_posts_store_exactly_one_drawing(app_module, stores):
    from comnist.serve import GatewayPool

    pool = GatewayPool(app_module, copies=4)
    body = drawing_body()
    data = json.dumps(body).encode()
    answers: list[tuple[int, str]] = []
    barrier = threading.Barrier(8)

    def send() -> None:
        barrier.wait()
        response = pool.handle("POST", "/drawings", {"content-type": "application/json"}, data)
        answers.append((response["statusCode"], response["body"]))

    threads = [threading.Thread(target=send) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(answers) == 8
    assert {status for status, _ in answers} <= {200, 201} and any(s == 201 for s, _ in answers)
    assert len({json.dumps(json.loads(text), sort_keys=True) for _, text in answers}) == 1
    ref = DrawingRef("cyrillic", "Ж", body["id"])
    stored = [key for key in keys(stores[0]) if not key.startswith("limits/")]  # the session cap's
    assert sorted(stored) == sorted([ref.png_key, ref.record_key, f"requests/{body['id']}.json"])


# --- S3 failing under the collector (moto) ------------------------------------------------------


@pytest.fixture
def s3_app(aws, app_module, tmp_path):
    """The app on moto S3 buckets; returns (client, drawings store, failure switch)."""
    from chalice.test import Client

    from chalicelib.storage import S3Storage

    aws.create_bucket(Bucket="drawings")
    aws.create_bucket(Bucket="contributors")
    drawings, contributors = S3Storage("drawings", aws), S3Storage("contributors", aws)
    config.use_stores(drawings, contributors)
    with Client(app_module.app) as test_client:
        yield test_client, drawings, contributors


def failing_put_object(client, fail_on: int, error: Exception):
    """Make the ``fail_on``-th ``put_object`` call of a boto3 client raise ``error``."""
    real = client.put_object
    calls = {"n": 0}

    def put_object(**kwargs):
        calls["n"] += 1
        if calls["n"] == fail_on:
            raise error
        return real(**kwargs)

    return put_object


def s3_errors():
    from botocore.exceptions import ClientError, EndpointConnectionError

    return {
        "SlowDown": ClientError(
            {"Error": {"Code": "SlowDown"}, "ResponseMetadata": {"HTTPStatusCode": 503}},
            "PutObject",
        ),
        "InternalError": ClientError(
            {"Error": {"Code": "InternalError"}, "ResponseMetadata": {"HTTPStatusCode": 500}},
            "PutObject",
        ),
        "unreachable": EndpointConnectionError(endpoint_url="https://s3.amazonaws.com"),
    }


@pytest.mark.parametrize("error", ["SlowDown", "InternalError", "unreachable"])
@pytest.mark.parametrize("fail_on", [1, 2, 3])
def test_s3_failing_on_put_is_503_and_nothing_half_written(s3_app, monkeypatch, fail_on, error):
    client, drawings, _ = s3_app
    monkeypatch.setattr(
        drawings.client,
        "put_object",
        failing_put_object(drawings.client, fail_on, s3_errors()[error]),
    )
    body = drawing_body()
    response = post_json(client, "/drawings", body)
    assert response.status_code == 503
    assert int(response.headers["Retry-After"]) > 0
    assert "retry with the same id" in response.json_body["error"]
    assert drawing_pngs(drawings) == [], "no drawing until the retry completes it"
    monkeypatch.undo()
    assert post_json(client, "/drawings", body).status_code == 201
    assert DrawingRef("cyrillic", "Ж", body["id"]).png_key in keys(drawings)


def test_s3_failing_for_contributors_is_503(s3_app, monkeypatch):
    client, _, contributors = s3_app
    monkeypatch.setattr(
        contributors.client,
        "put_object",
        failing_put_object(contributors.client, 1, s3_errors()["SlowDown"]),
    )
    body = {
        "session": drawing_body()["session"],
        "consent": {"thanks_page": False, "updates": False},
    }
    response = post_json(client, "/contributors", body)
    assert response.status_code == 503 and int(response.headers["Retry-After"]) > 0
    assert keys(contributors) == []


# --- events for missing or corrupt objects ------------------------------------------------------


def blank_png(size=(278, 278), mode="RGBA") -> bytes:
    from io import BytesIO

    from PIL import Image

    buffer = BytesIO()
    Image.new(mode, size).save(buffer, "PNG")
    return buffer.getvalue()


def bomb_png() -> bytes:
    """A tiny file that claims a 40000x40000 image: decoding it would take gigabytes."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", 40_000, 40_000, 8, 6, 0, 0, 0)
    rows = zlib.compress(b"\x00" * 4 * 1000, 9)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")
    )


CORRUPT_OBJECTS = {
    "empty": lambda: b"",
    "text": lambda: b"hello, not a png",
    "truncated PNG": lambda: blank_png()[:60],
    "decompression bomb": bomb_png,
}


@pytest.mark.parametrize("case", sorted(CORRUPT_OBJECTS))
def test_event_for_corrupt_object_is_tagged_invalid_without_crashing(app_module, stores, case):
    from comnist.local import LambdaContext, s3_object_created_event

    drawings = stores[0]
    key = DrawingRef("latin", "K", "2b7c2a1e-5d4f-4e3a-8b9c-1d2e3f4a5b6c").png_key
    drawings.put(key, CORRUPT_OBJECTS[case](), content_type="image/png")
    event = s3_object_created_event("bucket", key, 1, '"e"')
    for _ in range(2):  # redelivered
        result = app_module.on_new_drawing(event, LambdaContext())
        assert result["status"] == "invalid", result
    assert drawings.get_tags(key)["status"] == "invalid"


def test_event_for_missing_object_or_corrupt_record_does_not_crash(app_module, stores):
    from comnist.local import LambdaContext, s3_object_created_event

    drawings = stores[0]
    ref = DrawingRef("cyrillic", "Я", "3c7c2a1e-5d4f-4e3a-8b9c-1d2e3f4a5b6c")
    event = s3_object_created_event("bucket", ref.png_key, 1, '"e"')
    assert app_module.on_new_drawing(event, LambdaContext())["status"] == "invalid"
    assert keys(drawings) == []
    drawings.put(ref.record_key, b"{not json", content_type="application/json")
    drawings.put(ref.png_key, blank_png(), content_type="image/png")
    result = app_module.on_new_drawing(event, LambdaContext())
    # The PNG alone decides: a broken record never stops the drawing from being tagged.
    assert result["status"] in ("ok", "suspicious", "unscored", "invalid"), result
    assert drawings.get_tags(ref.png_key)["status"] == result["status"]


# --- contributors are write-only ----------------------------------------------------------------


SECRET_EMAIL = "secret.person@example.org"
SECRET_NAME = "Tajna Osoba"


def every_response(app_module, session: str):
    """Answers of every route and method a visitor could try, as the local server gives them."""
    from chalice.local import LocalGatewayException

    from comnist.serve import GatewayPool

    pool = GatewayPool(app_module, copies=1)
    paths = ["/contributors", f"/contributors/{session}", "/contributors/", "/stats", "/drawings"]
    paths += [f"/contributors?session={session}", f"/contributors/{session}.json", "/"]
    origin = {"origin": "http://127.0.0.1:8000"}
    for path in paths:
        for method in ("GET", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"):
            try:
                response = pool.handle(method, path, origin, None)
                status, body = response["statusCode"], response.get("body") or ""
                headers = {**(response.get("headers") or {})}
            except LocalGatewayException as error:
                status, body, headers = error.CODE, error.body or b"", dict(error.headers)
            text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
            yield method, path, status, text + json.dumps(headers)


def test_no_route_reads_contributors_or_leaks_their_email(client, app_module, stores):
    session = drawing_body()["session"]
    body = {
        "session": session,
        "name": SECRET_NAME,
        "email": SECRET_EMAIL,
        "consent": {"thanks_page": True, "updates": True},
        "count": 4,
    }
    stored = post_json(client, "/contributors", body)
    assert stored.status_code == 201
    replaced = post_json(client, "/contributors", dict(body, count=5))
    drawn = post_json(client, "/drawings", drawing_body(session=session))
    refused = post_json(client, "/contributors", dict(body, email="x"))
    answers = [
        ("POST", "/contributors", r.status_code, r.body.decode() + json.dumps(dict(r.headers)))
        for r in (stored, replaced, drawn, refused)
    ]
    answers += list(every_response(app_module, session))
    assert len(answers) > 40
    for method, path, status, text in answers:
        assert SECRET_EMAIL not in text and SECRET_NAME not in text, (method, path)
        if path.startswith("/contributors") and method in ("GET", "HEAD"):
            assert status in (403, 404, 405), (method, path, status)
    assert keys(stores[1]) == [f"contributors/{session}.json", f"created/{session}.json"]
    assert SECRET_EMAIL.encode() not in b"".join(stores[0].get(k).data for k in keys(stores[0]))


class InterleavingStore(LocalStorage):
    """Runs a second request just before the first one's PNG upload, and fails that second one's PNG."""

    def __init__(self, root, second_request) -> None:
        super().__init__(root)
        self.second_request = second_request
        self.png_puts = 0

    def put(self, key, data, **kwargs):
        if key.endswith(".png"):
            self.png_puts += 1
            if self.png_puts == 1:
                self.second_answer = self.second_request()
            elif self.png_puts == 2:
                raise StorageUnavailable("S3 is down for the second request")
        return super().put(key, data, **kwargs)


def test_failed_replay_racing_the_first_request_leaves_its_drawing_whole(client, tmp_path, stores):
    body = drawing_body()
    store = InterleavingStore(tmp_path / "racing", lambda: post_json(client, "/drawings", body))
    config.use_stores(store, stores[1])
    first = post_json(client, "/drawings", body)
    assert (first.status_code, store.second_answer.status_code) == (201, 503)
    ref = DrawingRef("cyrillic", "Ж", body["id"])
    assert store.exists(ref.png_key)
    assert store.exists(ref.record_key), "the stored drawing lost its strokes record"
