"""The collector's HTTP routes through the real Chalice app on local stores."""

from __future__ import annotations

import io
import json

import pytest
from PIL import Image

from chalicelib.keys import DrawingRef
from factories import drawing_body, post_json


def stored_keys(store) -> list[str]:
    return sorted(store.list_keys())


def test_drawing_is_stored_as_png_and_record(client, stores, monkeypatch):
    drawings, _ = stores
    body = drawing_body()
    monkeypatch.setenv("COMNIST_ORIGIN_SECRET", "from-cloudfront")
    response = post_json(
        client,
        "/drawings",
        body,
        **{"CloudFront-Viewer-Country": "DE", "X-Comnist-Origin": "from-cloudfront"},
    )
    assert response.status_code == 201
    assert response.json_body == {"id": body["id"], "alphabet": "cyrillic", "letter": "Ж"}

    ref = DrawingRef("cyrillic", "Ж", body["id"])
    image = Image.open(io.BytesIO(drawings.get(ref.png_key).data))
    assert image.size == (278, 278) and image.mode == "RGBA"
    alpha = image.getchannel("A")
    # The vertical stroke runs down the middle (x=150 of 300 -> 139 of 278): ink there, none in a corner.
    assert alpha.getpixel((139, 139)) == 255
    assert alpha.getpixel((5, 140)) == 0
    assert image.getpixel((139, 139))[:3] == (0, 0, 0)

    record = drawings.get_json(ref.record_key)
    assert record["strokes"] == body["strokes"]
    assert record["country"] == "DE"
    assert record["created"].endswith("Z")
    assert record["session"] == body["session"]
    assert "ip" not in json.dumps(record).lower().replace("pointer", "")


def test_replay_answers_200_and_stores_nothing_new(client, stores):
    drawings, _ = stores
    body = drawing_body()
    first = post_json(client, "/drawings", body)
    keys_after_first = stored_keys(drawings)
    # The same content with other formatting is the same body.
    second = post_json(client, "/drawings", json.dumps(body, indent=2))
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json_body == second.json_body
    assert stored_keys(drawings) == keys_after_first


def test_same_id_with_other_body_is_a_conflict(client, stores):
    drawings, _ = stores
    body = drawing_body()
    post_json(client, "/drawings", body)
    keys = stored_keys(drawings)
    response = post_json(client, "/drawings", dict(body, letter="Ш"))
    assert response.status_code == 409
    assert "different drawing" in response.json_body["error"]
    assert stored_keys(drawings) == keys


def test_latin_letters_and_single_point_dot(client, stores):
    drawings, _ = stores
    body = drawing_body(alphabet="latin", letter="I", strokes=[[[100], [100], [0]]], locale="en")
    assert post_json(client, "/drawings", body).status_code == 201
    png = drawings.get(DrawingRef("latin", "I", body["id"]).png_key).data
    alpha = Image.open(io.BytesIO(png)).getchannel("A")
    bbox = alpha.getbbox()
    assert bbox is not None
    width, height = bbox[2] - bbox[0], bbox[3] - bbox[1]
    assert 13 <= width <= 17 and 13 <= height <= 17  # a round dot of the 15 px pen


@pytest.mark.parametrize(
    ("letter", "alphabet"),
    [("Ё", "cyrillic"), ("Й", "cyrillic"), ("Z", "latin")],
)
def test_every_configured_letter_is_accepted(client, letter, alphabet):
    response = post_json(client, "/drawings", drawing_body(letter=letter, alphabet=alphabet))
    assert response.status_code == 201


def test_contributor_is_stored_privately(client, stores):
    drawings, contributors = stores
    session = drawing_body()["session"]
    body = {
        "session": session,
        "name": "Анна <b>",
        "email": "anna@example.org",
        "consent": {"thanks_page": True, "updates": True},
        "count": 12,
    }
    response = post_json(client, "/contributors", body)
    assert response.status_code == 201
    assert "anna@example.org" not in response.body.decode()
    record = contributors.get_json(f"contributors/{session}.json")
    assert record["name"] == "Анна <b>" and record["email"] == "anna@example.org"
    assert list(drawings.list_keys()) == []  # nothing personal beside the drawings

    created = contributors.get_json(f"created/{session}.json")["created"]

    again = post_json(client, "/contributors", dict(body, count=13))
    assert again.status_code == 200
    assert list(contributors.list_keys()) == [
        f"contributors/{session}.json",
        f"created/{session}.json",
    ], "one record per session, and the time it was first sent"
    assert contributors.get_json(f"contributors/{session}.json")["count"] == 13
    assert contributors.get_json(f"created/{session}.json")["created"] == created


def test_no_route_reads_contributors(client, stores):
    _, contributors = stores
    session = drawing_body()["session"]
    post_json(
        client,
        "/contributors",
        {
            "session": session,
            "email": "secret@example.org",
            "consent": {"thanks_page": False, "updates": True},
            "count": 1,
        },
    )
    for method in ("get", "put", "delete"):
        response = getattr(client.http, method)(f"/contributors/{session}")
        assert response.status_code in (403, 404, 405)
        assert b"secret@example.org" not in (response.body or b"")
    response = client.http.get("/contributors")
    assert response.status_code in (403, 404, 405)
    assert b"secret@example.org" not in (response.body or b"")


def test_stats_lists_every_letter_with_zeros(client):
    response = client.http.get("/stats")
    assert response.status_code == 200
    body = response.json_body
    assert body["goal"] == 1000
    assert len(body["alphabets"]["cyrillic"]["letters"]) == 33
    assert len(body["alphabets"]["latin"]["letters"]) == 26
    assert body["alphabets"]["cyrillic"]["total"] == 0
    assert "max-age" in response.headers["Cache-Control"]


def test_cors_only_for_configured_origins(client, monkeypatch):
    monkeypatch.setenv("COMNIST_SITE_ORIGINS", "https://draw.example.org")
    allowed = client.http.request(
        "OPTIONS", "/drawings", headers={"Origin": "https://draw.example.org"}
    )
    assert allowed.status_code == 204
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://draw.example.org"
    assert "POST" in allowed.headers["Access-Control-Allow-Methods"]

    denied = client.http.request("OPTIONS", "/drawings", headers={"Origin": "https://evil.example"})
    assert denied.status_code == 403
    assert "Access-Control-Allow-Origin" not in denied.headers

    response = client.http.get("/stats", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in response.headers
    response = client.http.get("/stats", headers={"Origin": "https://draw.example.org"})
    assert response.headers["Access-Control-Allow-Origin"] == "https://draw.example.org"
    assert response.headers["Access-Control-Expose-Headers"] == "Retry-After"
