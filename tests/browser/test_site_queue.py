"""The upload queue in headless Chromium: a 429 from the session cap keeps the drawing for later."""

from __future__ import annotations

import time

import pytest

from browserkit import draw_with_mouse, open_drawing_page, wait_for

pytestmark = pytest.mark.browser

HOLD_SECONDS = 4


def queued_ids(page) -> list[str]:
    return page.evaluate("JSON.parse(localStorage.getItem('comnist:queue') || '[]').map(d => d.id)")


def test_a_capped_drawing_stays_queued_waits_its_retry_after_and_is_delivered_once(live, desktop):
    page = open_drawing_page(desktop, live.url + "/en/")
    attempts: list[tuple[str, float]] = []

    def capped_once(route):
        attempts.append((route.request.post_data_json["id"], time.monotonic()))
        if len(attempts) == 1:
            route.fulfill(
                status=429,
                headers={"Retry-After": str(HOLD_SECONDS)},
                content_type="application/json",
                body='{"error": "this session has sent 20 drawings of this letter this hour"}',
            )
        else:
            route.continue_()

    page.route("**/api/drawings", capped_once)
    draw_with_mouse(page, [(0.5, 0.2), (0.5, 0.8)])
    page.get_by_test_id("next").click()
    wait_for(lambda: attempts, what="the first upload", page=page)
    capped = attempts[0][0]
    assert queued_ids(page) == [capped], "the capped drawing stays in the queue"

    # Coming back online or to the tab does not send it before its time; the next letter goes.
    page.evaluate("window.dispatchEvent(new Event('online'))")
    draw_with_mouse(page, [(0.2, 0.5), (0.8, 0.5)])
    page.get_by_test_id("next").click()
    wait_for(lambda: len(live.drawings()) == 1, what="the next letter's drawing", page=page)
    assert len(attempts) == 2 and attempts[1][0] != capped, "sent past the held drawing"
    assert queued_ids(page) == [capped]

    wait_for(lambda: len(live.drawings()) == 2, timeout=30, what="the held drawing", page=page)
    page.wait_for_timeout(1500)  # any duplicate upload would land now
    sent = [drawing_id for drawing_id, _ in attempts]
    assert sent.count(capped) == 2 and len(sent) == 3, sent
    retried_at = next(at for drawing_id, at in attempts[1:] if drawing_id == capped)
    assert retried_at - attempts[0][1] >= HOLD_SECONDS - 0.5, "Retry-After was honoured"
    assert queued_ids(page) == [] and {p.stem for p in live.drawings()} == set(sent)
    assert page.evaluate("localStorage.getItem('comnist:held')") in (None, "{}")
