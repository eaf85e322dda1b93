"""One storage contract, two backends: the local directory and S3 (moto)."""

from __future__ import annotations

import moto  # noqa: F401  (moto before boto3)
import pytest

from chalicelib import config
from chalicelib.keys import DrawingRef
from chalicelib.storage import LocalStorage, NotFound, PreconditionFailed, S3Storage
from comnist.local import LambdaContext, load_app, s3_object_created_event
from factories import drawing_body, goal_count, post_json


@pytest.fixture(params=["local", "s3"])
def store(request, tmp_path, aws):
    if request.param == "local":
        return LocalStorage(tmp_path / "bucket")
    aws.create_bucket(Bucket="bucket")
    return S3Storage("bucket", aws)


def test_put_get_head_delete(store):
    etag = store.put(
        "a/b.json", b'{"x": 1}', content_type="application/json", metadata={"kind": "test"}
    )
    obj = store.get("a/b.json")
    assert obj.data == b'{"x": 1}' and obj.info.etag == etag
    info = store.head("a/b.json")
    assert (
        info.size == 8
        and info.content_type == "application/json"
        and info.metadata == {"kind": "test"}
    )
    assert store.get_json("a/b.json") == {"x": 1}
    store.delete("a/b.json")
    assert store.head("a/b.json") is None
    with pytest.raises(NotFound):
        store.get("a/b.json")
    store.delete("a/b.json")  # deleting twice is fine


def test_listing_is_in_key_order_and_filtered_by_prefix(store):
    for key in ["b.json", "a/x", "a.json", "a/b/c", "drawings/x/1.png", "drawings/x/0.png", "ab"]:
        store.put(key, b"1")
    assert list(store.list_keys()) == [
        "a.json",
        "a/b/c",
        "a/x",
        "ab",
        "b.json",
        "drawings/x/0.png",
        "drawings/x/1.png",
    ]
    assert list(store.list_keys("a/")) == ["a/b/c", "a/x"]
    assert list(store.list_keys("drawings/x/1")) == ["drawings/x/1.png"]
    assert list(store.list_keys("nothing/")) == []
    assert list(store.list_keys("a/", start_after="a/b/c")) == ["a/x"]
    assert list(store.list_keys("drawings/", start_after="drawings/x/0.png")) == [
        "drawings/x/1.png"
    ]
    assert list(store.list_keys(start_after="ab")) == [
        "b.json",
        "drawings/x/0.png",
        "drawings/x/1.png",
    ]
    assert list(store.list_keys("a/", start_after="b")) == []


def test_conditional_writes(store):
    store.put("claim", b"first", if_none_match=True)
    with pytest.raises(PreconditionFailed):
        store.put("claim", b"second", if_none_match=True)
    assert store.get("claim").data == b"first"
    etag = store.head("claim").etag
    new_etag = store.put("claim", b"third", if_match=etag)
    with pytest.raises(PreconditionFailed):
        store.put("claim", b"fourth", if_match=etag)  # a stale ETag loses
    assert store.get("claim").data == b"third" and store.head("claim").etag == new_etag


def test_tags_with_s3_limits(store):
    store.put("d.png", b"png")
    store.put_tags(
        "d.png", {"status": "ok", "reasons": "wrong-letter:U+0428", "features": "ink=-2.1 w=0.5"}
    )
    assert store.get_tags("d.png")["reasons"] == "wrong-letter:U+0428"
    with pytest.raises(ValueError):
        store.put_tags("d.png", {f"t{i}": "x" for i in range(11)})
    with pytest.raises(ValueError):
        store.put_tags("d.png", {"status": "x" * 257})
    with pytest.raises(ValueError):
        store.put_tags("d.png", {"status": "<script>"})
    with pytest.raises(NotFound):
        store.put_tags("missing.png", {"status": "ok"})
    store.put("d.png", b"new")  # a new object starts without tags
    assert store.get_tags("d.png") == {}
    store.put("d.png", b"newer", tags={"status": "ok", "verdict": "rejected"})
    assert store.get_tags("d.png") == {"status": "ok", "verdict": "rejected"}
    with pytest.raises(ValueError):
        store.put("e.png", b"x", tags={"status": "a&b"})
    assert not store.exists("e.png"), "bad tags refuse the whole upload"


def test_listing_goes_past_one_page(store):
    """S3 answers 1,000 keys a page; a listing (stats rebuild, rescoring) must see them all."""
    keys = [f"drawings/latin/U+0041/{i:05d}.png" for i in range(1_005)]
    for key in keys:
        store.put(key, b"")
    assert list(store.list_keys("drawings/")) == keys


def test_get_of_a_vanished_object_and_tags_of_a_missing_one(store):
    with pytest.raises(NotFound):
        store.get("never/written.json")
    with pytest.raises(NotFound):
        store.get_tags("never/written.png")
    assert not store.exists("never/written.json")


@pytest.mark.parametrize(
    "key", ["../escape", "/absolute", "a/../b", "a\\b", "a//b", ".hidden/x", "a/\x00", "", "dir/"]
)
def test_keys_that_could_escape_are_refused(store, key):
    with pytest.raises(ValueError):
        store.put(key, b"x")


def test_whole_path_on_s3_intake_event_stats(aws, monkeypatch):
    from chalice.test import Client

    monkeypatch.setenv("COMNIST_ORIGIN_SECRET", "from-cloudfront")

    aws.create_bucket(Bucket="drawings")
    aws.create_bucket(Bucket="contributors")
    drawings, contributors = S3Storage("drawings", aws), S3Storage("contributors", aws)
    config.use_stores(drawings, contributors)
    try:
        app_module = load_app()
        body = drawing_body(letter="Ы")
        with Client(app_module.app) as client:
            headers = {"CloudFront-Viewer-Country": "FR", "X-Comnist-Origin": "from-cloudfront"}
            response = post_json(client, "/drawings", body, **headers)
            assert response.status_code == 201
            key = DrawingRef("cyrillic", "Ы", body["id"]).png_key
            record = drawings.get_json(DrawingRef("cyrillic", "Ы", body["id"]).record_key)
            assert record["country"] == "FR" and record["strokes"] == body["strokes"]
            assert drawings.head(key).content_type == "image/png"

            size = drawings.head(key).size
            event = s3_object_created_event("drawings", key, size, drawings.head(key).etag)
            result = app_module.on_new_drawing(event, LambdaContext())
            assert result["status"] in ("unscored", "ok", "suspicious")
            app_module.on_new_drawing(event, LambdaContext())  # S3 delivers at least once
            assert drawings.get_tags(key)["status"] == result["status"]
            stats = client.http.get("/stats", headers=headers).json_body["alphabets"]["cyrillic"]
            expected = goal_count(drawings.get_tags(key))
            assert stats["letters"]["Ы"] == expected and stats["total"] == expected

            assert post_json(client, "/drawings", body, **headers).status_code == 200
            assert sum(1 for k in drawings.list_keys("drawings/")) == 1
            assert list(contributors.list_keys()) == []
    finally:
        config._stores.clear()
