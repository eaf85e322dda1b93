"""The review desk in Chromium: a maintainer judges 50 flagged drawings by keyboard alone."""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_sanitizer import drawing_id, scribble_png

from browserkit import screenshot, wait_for
from chalicelib import flagged, sanitizing
from chalicelib.keys import DrawingRef
from chalicelib.storage import LocalStorage, NotFound
from factories import free_port

ROOT = Path(__file__).resolve().parents[2]
FLAGGED = 52


@pytest.fixture
def desk(tmp_path):
    """``comnist review --serve`` over a store with FLAGGED flagged drawings of T; yields (url, store)."""
    store = LocalStorage(tmp_path / "data" / "drawings")
    rng = random.Random(11)
    for _ in range(FLAGGED):
        ref = DrawingRef("latin", "T", drawing_id(rng))
        store.put(ref.png_key, scribble_png(rng), content_type="image/png")
        sanitizing.tag_drawing(store, ref.png_key)
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "comnist",
        "review",
        "--serve",
        "--data",
        str(tmp_path / "data"),
        "--port",
        str(port),
        "--cache",
        str(tmp_path / "facts.json"),
    ]
    process = subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        url = None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and url is None:
            line = process.stdout.readline().decode()
            if not line and process.poll() is not None:
                break
            if "?token=" in line:
                url = line.split(" is at ", 1)[1].strip()
        assert url, "the desk did not print its address"
        yield url, port, store
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=20)


def verdicts(store: LocalStorage) -> dict[str, str]:
    found = {}
    for key in store.list_keys("verdicts/"):
        # The desk may be writing or undoing this very verdict while the test reads.
        with contextlib.suppress(NotFound):
            found[key.rsplit("/", 1)[1][:-5]] = store.get_json(key)["verdict"]
    return found


def post(port: int, path: str, body: dict, headers: dict) -> int:
    import http.client

    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("POST", path, body=json.dumps(body), headers=headers)
        return connection.getresponse().status
    finally:
        connection.close()


def test_a_maintainer_judges_fifty_drawings_by_keyboard_and_can_undo(desk, desktop):
    url, port, store = desk
    queue_order = [m.ref.id for m in flagged.iter_markers(store)]
    assert len(queue_order) == FLAGGED
    page = desktop.new_page()
    problems = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.goto(url)
    page.get_by_test_id("card").first.wait_for()
    assert page.url.endswith("/") and "token" not in page.url
    assert page.get_by_test_id("card").count() == 40, "a page of 40, worst first"
    page.wait_for_function("document.querySelector('[data-testid=card] img').naturalWidth > 0")
    first_card = page.get_by_test_id("card").first
    assert queue_order[0] in first_card.inner_text()

    expected = {}
    for i in range(50):
        if i == 40:  # the second page opens by itself; a maintainer looks before judging on
            page.get_by_test_id("card").filter(has_text=queue_order[40]).first.wait_for()
        verdict = "rejected" if i % 3 == 0 else "ok"
        expected[queue_order[i]] = verdict
        page.keyboard.press("r" if verdict == "rejected" else "a")
    wait_for(lambda: len(verdicts(store)) == 50, 60, "50 verdicts", page=page)
    assert verdicts(store) == expected
    for drawing in expected:
        ref = DrawingRef("latin", "T", drawing)
        assert store.get_tags(ref.png_key)["verdict"] == expected[drawing]
    assert len(list(flagged.iter_markers(store))) == FLAGGED - 50
    refit = page.get_by_test_id("refit")
    wait_for(lambda: "50 verdicts" in refit.inner_text(), 30, "the refit panel", page=page)
    screenshot(page, "review-desk")

    last = queue_order[49]
    page.keyboard.press("u")
    wait_for(lambda: last not in verdicts(store), 20, "the undo", page=page)
    assert "verdict" not in store.get_tags(DrawingRef("latin", "T", last).png_key)
    assert len(list(flagged.iter_markers(store))) == FLAGGED - 49
    page.keyboard.press("r")
    wait_for(lambda: verdicts(store).get(last) == "rejected", 20, "the new verdict", page=page)

    page.get_by_role("link", name="The collection at a glance").click()
    page.locator("svg.chart").first.wait_for()
    assert "52" in page.get_by_test_id("figures").inner_text()
    screenshot(page, "review-desk-glance")
    assert problems == [], "no script error and no policy violation"


def test_cross_site_requests_and_requests_without_the_token_are_refused(desk, desktop):
    url, port, store = desk
    token = url.split("?token=", 1)[1]
    target = next(flagged.iter_markers(store)).ref
    body = {"key": target.png_key, "verdict": "ok"}
    json_type = {"Content-Type": "application/json"}
    assert post(port, "/api/verdict", body, json_type) == 403
    assert post(port, "/api/verdict", body, {**json_type, "X-Desk-Token": "wrong"}) == 403
    evil = {**json_type, "X-Desk-Token": token, "Origin": "http://evil.test"}
    assert post(port, "/api/verdict", body, evil) == 403
    rebound = {**json_type, "X-Desk-Token": token, "Host": f"evil.test:{port}"}
    assert post(port, "/api/verdict", body, rebound) == 421

    # A page elsewhere tries what a browser lets any site do: a form post and fetches.
    attack = f"""<!doctype html><html><body>
      <form id="f" method="post" action="http://127.0.0.1:{port}/api/verdict"
            enctype="text/plain"><input name='{{"key":"{target.png_key}","verdict":"ok","x":"' value='"}}'></form>
      <script>
        fetch("http://127.0.0.1:{port}/api/verdict", {{method: "POST", mode: "no-cors",
          headers: {{"Content-Type": "text/plain"}}, body: JSON.stringify({json.dumps(body)})}});
        fetch("http://127.0.0.1:{port}/api/verdict", {{method: "POST",
          headers: {{"Content-Type": "application/json", "X-Desk-Token": "{token}"}},
          body: JSON.stringify({json.dumps(body)})}}).catch(() => {{}});
        setTimeout(() => document.getElementById("f").submit(), 300);
      </script></body></html>"""
    page = desktop.new_page()
    page.route(
        "http://evil.test/**",
        lambda route: route.fulfill(status=200, content_type="text/html", body=attack),
    )
    page.goto("http://evil.test/")
    page.wait_for_timeout(1500)
    assert verdicts(store) == {}, "nothing from another site was recorded"
    assert post(port, "/api/verdict", body, {**json_type, "X-Desk-Token": token}) == 200
    assert verdicts(store) == {target.id: "ok"}
