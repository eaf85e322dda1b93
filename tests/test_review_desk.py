"""The review queue, the desk's WSGI guards and pages, ``mark --csv`` and the collection report."""

from __future__ import annotations

import io
import json
import random
import re
import time

import pytest
from test_sanitizer import blank_png, drawing_id, letter_png, scribble_png

from chalicelib import flagged, sanitizing
from chalicelib.keys import DrawingRef
from chalicelib.storage import LocalStorage, S3Storage
from comnist.cli import main
from comnist.desk import queue
from comnist.desk.cli import write_report
from comnist.desk.collection import FactsCache, session_label
from comnist.desk.server import Desk

PORT = 8765


@pytest.fixture
def store(tmp_path):
    return LocalStorage(tmp_path / "data" / "drawings")


def add(store, letter, png, rng, record=None, tag=True):
    ref = DrawingRef("latin", letter, drawing_id(rng))
    if record is not None:
        store.put_json(ref.record_key, record)
    store.put(ref.png_key, png, content_type="image/png")
    if tag:
        sanitizing.tag_drawing(store, ref.png_key)
    return ref


def flag_some(store, count, letter="T", seed=1):
    rng = random.Random(seed)
    return [add(store, letter, scribble_png(rng), rng) for _ in range(count)]


def markers(store):
    return [m.key for m in flagged.iter_markers(store)]


def test_marker_keys_sort_worst_first_and_give_back_score_and_reasons():
    ref = DrawingRef("latin", "T", "0c6e5973-286b-4f29-8999-18a76ec15d38")
    tags = {"status": "suspicious", "score": "3.267", "reasons": "filled wrong-letter:U+0058"}
    key = flagged.marker_key(ref, tags)
    marker = flagged.parse_marker_key(key)
    assert marker.ref == ref and marker.score == 3.267
    assert marker.reasons == ("filled", "wrong-letter:U+0058")
    worse = flagged.marker_key(ref, {**tags, "score": "12.5"})
    negative = flagged.marker_key(ref, {**tags, "score": "-0.2"})
    unscored = flagged.marker_key(ref, {"status": "suspicious", "reasons": "blank"})
    assert sorted([key, negative, worse, unscored]) == [unscored, worse, key, negative]
    assert flagged.parse_marker_key(negative).score == -0.2


def test_tagging_queues_flagged_drawings_and_a_verdict_takes_them_out_until_undone(store):
    rng = random.Random(3)
    good = add(store, "T", letter_png("T", rng), rng)
    refs = flag_some(store, 5)
    assert store.get_tags(good.png_key)["status"] == "ok"
    assert {flagged.parse_marker_key(k).ref for k in markers(store)} == set(refs)
    scores = [flagged.parse_marker_key(k).score for k in markers(store)]
    assert scores == sorted(scores, reverse=True)

    sanitizing.tag_drawing(store, refs[0].png_key)  # a redelivered event changes nothing
    assert len(markers(store)) == 5

    sanitizing.mark_drawing(store, refs[0].png_key, "rejected")
    assert len(markers(store)) == 4
    assert store.get_json(refs[0].verdict_key)["verdict"] == "rejected"
    assert store.get_tags(refs[0].png_key)["verdict"] == "rejected"
    sanitizing.tag_drawing(store, refs[0].png_key)  # a rescore keeps a judged drawing out
    assert len(markers(store)) == 4

    sanitizing.unmark_drawing(store, refs[0].png_key)
    assert not store.exists(refs[0].verdict_key)
    assert "verdict" not in store.get_tags(refs[0].png_key)
    assert len(markers(store)) == 5


def test_a_rescore_that_changes_the_score_moves_the_marker(store):
    (ref,) = flag_some(store, 1)
    (old,) = markers(store)
    tags = store.get_tags(ref.png_key)
    sanitizing._put_tags_with_verdict(store, ref.png_key, {**tags, "score": "0.100"})
    (new,) = markers(store)
    assert new != old and flagged.parse_marker_key(new).score == 0.1
    sanitizing._put_tags_with_verdict(store, ref.png_key, {**tags, "status": "ok"})
    assert markers(store) == []


def test_pages_follow_each_other_and_stale_markers_are_dropped(store):
    refs = flag_some(store, 7)
    stale = flagged.marker_key(refs[0], {"status": "suspicious", "score": "99", "reasons": "x"})
    store.put_json(stale, {})
    first, cursor = queue.review_page(store, "latin", "T", size=3)
    assert stale not in [c.marker.key for c in first] and not store.exists(stale)
    assert len(first) == 3 and cursor
    second, cursor = queue.review_page(store, "latin", "T", after=cursor, size=3)
    third, end = queue.review_page(store, "latin", "T", after=cursor, size=3)
    assert end is None and len(third) == 1
    seen = [c.marker.ref for c in first + second + third]
    assert sorted(seen, key=lambda r: r.id) == sorted(refs, key=lambda r: r.id)
    card = first[0].as_json()
    assert card["likeliest"] in ("not-a-letter", "T") or len(card["likeliest"]) == 1
    assert queue.letters_in_queue(store) == [
        {"alphabet": "latin", "letter": "T", "code_point": "U+0054"}
    ]
    with pytest.raises(ValueError):
        queue.review_page(store, "latin", "L", after=cursor)


def test_the_queue_works_the_same_on_s3(aws):
    aws.create_bucket(Bucket="drawings")
    store = S3Storage("drawings", aws)
    refs = flag_some(store, 4)
    cards, cursor = queue.review_page(store, "latin", "T", size=3)
    assert len(cards) == 3 and cursor
    sanitizing.mark_drawing(store, cards[0].marker.ref.png_key, "ok")
    rest, end = queue.review_page(store, "latin", "T", after=cursor)
    assert end is None and len(rest) == 1
    assert len(markers(store)) == 3
    assert flagged.rebuild(store) == {"queued": 3, "removed": 0}
    assert {m.ref for m in flagged.iter_markers(store)} | {cards[0].marker.ref} == set(refs)


def test_reindex_builds_the_queue_of_a_store_tagged_before_it(store, capsys):
    refs = flag_some(store, 3)
    for key in markers(store):
        store.delete(key)
    orphan = f"flagged/latin/U+0054/000000/00000000_{drawing_id(random.Random(9))}_.json"
    store.put_json(orphan, {})
    assert main(["review", "--data", str(store.root.parent), "--reindex"]) == 0
    assert json.loads(capsys.readouterr().out) == {"queued": 3, "removed": 1}
    assert {flagged.parse_marker_key(k).ref for k in markers(store)} == set(refs)


# ----- mark --csv ---------------------------------------------------------------------------


class CountingStore(LocalStorage):
    listings = 0

    def list_keys(self, prefix="", start_after=""):
        if prefix.startswith("drawings"):
            CountingStore.listings += 1
        return super().list_keys(prefix, start_after)


def test_mark_csv_reads_excels_bom_and_lists_the_store_once(tmp_path):
    store = CountingStore(tmp_path / "drawings")
    refs = flag_some(store, 3)
    rows = [f"{refs[0].id},rejected", f"{refs[1].id},OK", f"{refs[2].id},maybe"]
    rows += [f"{drawing_id(random.Random(n))},ok" for n in range(20, 25)]
    path = tmp_path / "verdicts.csv"
    path.write_bytes(("\ufeffid,verdict\r\n" + "\r\n".join(rows) + "\r\n").encode("utf-8"))
    CountingStore.listings = 0
    counts = sanitizing.mark_csv(store, path)
    assert counts == {"marked": 2, "unknown": 5, "invalid": 1}
    assert CountingStore.listings == 1
    assert store.get_json(refs[0].verdict_key)["verdict"] == "rejected"
    assert store.get_json(refs[1].verdict_key)["verdict"] == "ok"
    path.write_text("drawing,decision\nx,ok\n", encoding="utf-8")
    with pytest.raises(ValueError, match="id and verdict"):
        sanitizing.mark_csv(store, path)


# ----- the desk's guards ----------------------------------------------------------------------


def call(desk, method, path, headers=None, body=None, host=f"127.0.0.1:{PORT}"):
    path, _, query = path.partition("?")
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "HTTP_HOST": host,
        "wsgi.input": io.BytesIO(body or b""),
        "CONTENT_LENGTH": str(len(body or b"")),
    }
    for name, value in (headers or {}).items():
        if name.lower() == "content-type":
            environ["CONTENT_TYPE"] = value
        else:
            environ["HTTP_" + name.upper().replace("-", "_")] = value
    answer = {}

    def start_response(status, header_list):
        answer["status"] = int(status.split()[0])
        answer["headers"] = dict(header_list)

    data = b"".join(desk(environ, start_response))
    return answer["status"], answer["headers"], data


@pytest.fixture
def desk(store):
    return Desk(store, PORT, token="the-token", glance=lambda: "<p>glance</p>")


def verdict_post(desk, key, token="the-token", **headers):
    body = json.dumps({"key": key, "verdict": "rejected"}).encode()
    sent = {"Content-Type": "application/json", **headers}
    if token:
        sent["X-Desk-Token"] = token
    return call(desk, "POST", "/api/verdict", sent, body)


def test_the_desk_refuses_requests_without_its_token_or_from_elsewhere(desk, store):
    (ref,) = flag_some(store, 1)
    assert verdict_post(desk, ref.png_key, token=None)[0] == 403
    assert verdict_post(desk, ref.png_key, token="guess")[0] == 403
    assert verdict_post(desk, ref.png_key, Origin="http://evil.example")[0] == 403
    assert verdict_post(desk, ref.png_key, **{"Sec-Fetch-Site": "cross-site"})[0] == 403
    status, _, _ = call(
        desk, "POST", "/api/verdict", {"X-Desk-Token": "the-token"}, b"{}", host="rebind.example"
    )
    assert status == 421
    status, _, _ = call(desk, "GET", "/api/letters", host=f"evil.example:{PORT}")
    assert status == 421
    assert call(desk, "GET", "/api/letters")[0] == 403
    form = f"key={ref.png_key}&verdict=rejected".encode()
    form_headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Desk-Token": "the-token",
    }
    assert call(desk, "POST", "/api/verdict", form_headers, form)[0] == 415
    assert not store.exists(ref.verdict_key)

    status, _, data = verdict_post(desk, ref.png_key, Origin=f"http://127.0.0.1:{PORT}")
    assert status == 200 and json.loads(data)["verdict"] == "rejected"
    assert store.get_json(ref.verdict_key)["verdict"] == "rejected"
    undo = json.dumps({"key": ref.png_key}).encode()
    headers = {"Content-Type": "application/json", "X-Desk-Token": "the-token"}
    assert call(desk, "POST", "/api/undo", headers, undo)[0] == 200
    assert not store.exists(ref.verdict_key)


def test_the_desk_pages_carry_a_strict_policy_and_open_only_with_the_token(desk, store):
    (ref,) = flag_some(store, 1)
    status, headers, page = call(desk, "GET", "/")
    assert status == 403 and b"the-token" not in page
    status, headers, page = call(desk, "GET", "/?token=the-token")
    assert status == 200 and b'content="the-token"' in page
    assert "HttpOnly" in headers["Set-Cookie"] and "SameSite=Strict" in headers["Set-Cookie"]
    csp = headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert not re.search(rb"<script(?![^>]*\bsrc=)", page), "no inline script"
    assert b"style=" not in page and b"<style" not in page
    assert call(desk, "GET", "/static/desk.js")[0] == 200
    assert call(desk, "GET", "/static/../server.py")[0] == 404
    cookie = {"Cookie": "comnist_desk=the-token"}
    assert call(desk, "GET", f"/drawing/{ref.png_key}", cookie)[0] == 200
    assert call(desk, "GET", f"/drawing/{ref.png_key}")[0] == 403
    assert call(desk, "GET", "/glance", cookie)[0] == 200
    token = {"X-Desk-Token": "the-token"}
    status, _, data = call(desk, "GET", "/api/page?alphabet=latin&code_point=U%2B0054", token)
    assert status == 200 and json.loads(data)["cards"][0]["key"] == ref.png_key
    status, _, data = call(desk, "GET", "/api/page?alphabet=latin&code_point=U%2B0416", token)
    assert status == 400 and "latin" in json.loads(data)["error"]


# ----- the collection report ------------------------------------------------------------------

SESSION = "3f2b8c1e-0000-4000-8000-000000000001"


def record(day, country, age, session=SESSION):
    return {
        "created": f"{day}T10:00:00.000Z",
        "country": country,
        "age_group": age,
        "session": session,
        "strokes": [],
    }


def test_the_report_counts_from_listings_records_and_verdicts(store, tmp_path):
    rng = random.Random(5)
    other = "3f2b8c1e-0000-4000-8000-000000000002"
    refs = [
        add(store, "T", letter_png("T", rng), rng, record("2026-11-01", "RU", "child")),
        add(store, "T", letter_png("T", rng), rng, record("2026-11-01", "RU", "adult")),
        add(store, "L", letter_png("L", rng), rng, record("2026-11-03", "FR", None, other)),
        add(store, "T", scribble_png(rng), rng, record("2026-11-03", None, "child")),
        add(store, "T", blank_png(), rng, record("2026-11-03", "RU", "adult")),
    ]
    sanitizing.mark_drawing(store, refs[3].png_key, "rejected")
    erased = flag_some(store, 1, seed=12)[0]  # erased on request: its marker stays behind
    store.delete(erased.png_key)
    out = tmp_path / "report"
    cache = tmp_path / "facts.json"
    numbers = write_report(store, out, 10, cache)
    assert numbers["total"] == 5 and numbers["records_read"] == 5
    assert numbers["per_day"] == {"2026-11-01": 2, "2026-11-03": 3}
    assert numbers["countries"] == {"RU": 3, "FR": 1, "unknown": 1}
    assert numbers["child_share"] == 0.5
    assert numbers["top_sessions"] == [[session_label(SESSION), 4], [session_label(other), 1]]
    t_row = next(r for r in numbers["letters"] if r["letter"] == "T")
    assert t_row["drawings"] == 4 and t_row["judged"] == {"rejected": 1}
    assert t_row["suspicious"] == {"blank": 1}

    page = (out / "index.html").read_text(encoding="utf-8")
    assert page.count("<svg") >= 6 and "<script" not in page and "style=" not in page
    assert (out / "report.css").is_file()
    assert SESSION not in page and session_label(SESSION) in page
    assert "goal 10" in page and "2026-11-02" not in page.split("<h2>Drawings per day")[0]

    again = write_report(store, out, 10, cache)
    assert again["records_read"] == 0 and again["per_day"] == numbers["per_day"]
    assert len(FactsCache(cache).facts) == 5


def test_report_command_writes_its_charts(store, tmp_path, capsys):
    rng = random.Random(6)
    add(store, "T", letter_png("T", rng), rng, record("2026-11-01", "DE", "adult"))
    out = tmp_path / "out"
    data = str(store.root.parent)
    assert main(["report", "--data", data, "--out", str(out), "--no-cache"]) == 0
    assert "1 drawings" in capsys.readouterr().out
    assert "<svg" in (out / "index.html").read_text(encoding="utf-8")


# ----- the refit's figures --------------------------------------------------------------------


def test_refit_figures_score_the_judged_drawings_with_the_models_before_and_after(store):
    from chalicelib.keys import MODELS_CURRENT_KEY, model_key
    from comnist.desk.figures import RefitFigures, compare
    from sanitizer import starter_model
    from sanitizer.model import ModelSet

    rng = random.Random(8)
    letters = [add(store, "T", letter_png("T", rng), rng) for _ in range(3)]
    junk = flag_some(store, 3, seed=9)
    for ref in letters:
        sanitizing.mark_drawing(store, ref.png_key, "ok")
    for ref in junk[:2]:
        sanitizing.mark_drawing(store, ref.png_key, "rejected")
    assert compare(store)["after"] == {"version": None}, "no refit yet: nothing to compare"

    # A copy: the shipped starter is loaded once per process and shared by every test.
    stored = ModelSet.from_json(starter_model().to_json())
    stored.version = "m20261101T000000"
    store.put(model_key(stored.version), stored.to_json(), content_type="application/json")
    store.put_json(MODELS_CURRENT_KEY, {"version": stored.version})
    result = compare(store)
    assert result["judged"] == 5 and result["rejected"] == 2
    assert result["before"]["version"] == "starter"
    assert result["after"]["version"] == "m20261101T000000"
    for side in ("before", "after"):
        assert result[side]["caught"] == 2 and result[side]["recall"] == 1.0
        assert result[side]["precision"] == 2 / result[side]["flagged"]
    assert result["after"]["letters_by_f1"] == []

    figures = RefitFigures(store)
    assert figures.current()["state"] == "computing"
    for _ in range(300):
        answer = figures.current()
        if answer["state"] == "ready":
            break
        time.sleep(0.1)
    assert answer["state"] == "ready" and answer["judged"] == 5


def test_forgetting_a_drawing_erases_its_place_in_the_review_queue(store):
    from comnist.forget import Erased, forget_drawing

    kept, gone = flag_some(store, 2)
    erased = Erased()
    forget_drawing(store, gone, erased, "2026-11-01T00:00:00.000Z")
    assert [m.ref for m in flagged.iter_markers(store)] == [kept]
    assert erased.drawings == 1 and erased.object_versions >= 2
