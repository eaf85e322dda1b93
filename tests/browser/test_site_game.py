"""The game around the drawing: rewards with pictures, my letters, offline-first, child mode."""

from __future__ import annotations

import io
import json
import time
from datetime import UTC, datetime

import pytest
from PIL import Image

from browserkit import line, open_drawing_page, press_next, screenshot, touch_stroke, wait_for

pytestmark = pytest.mark.browser


def draw_letters(page, cdp, count: int) -> None:
    for i in range(count):
        touch_stroke(page, cdp, line((0.3 + 0.1 * i, 0.2), (0.5, 0.8)))
        press_next(page)


def records(live) -> list[dict]:
    return [json.loads(p.read_text()) for p in (live.data / "drawings" / "strokes").rglob("*.json")]


def test_the_first_letter_brings_a_reward_with_its_picture(live, browser):
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True, locale="ru-RU"
    )
    try:
        context.add_init_script("window.buzzed = []; navigator.vibrate = (p) => buzzed.push(p);")
        page = open_drawing_page(context, live.url + "/ru/")
        assert not page.get_by_test_id("level-picture").is_visible(), "no car before a level"
        draw_letters(page, context.new_cdp_session(page), 1)
        reward = page.get_by_test_id("reward")
        assert reward.is_visible() and "Ока" in reward.inner_text()
        car = reward.locator("svg.reward-car")
        assert car.locator("use").get_attribute("href") == "#car-1"
        box = car.bounding_box()
        assert box["width"] > 80 and box["height"] > 40, "a picture, not a line of text"
        assert page.evaluate("buzzed.length") == 1, "phones that can vibrate do"
        assert (
            page.evaluate("getComputedStyle(document.querySelector('.confetti i')).animationName")
            == "fall"
        )
        page.wait_for_timeout(500)
        screenshot(page, "reward-phone-390-first-letter")
        picture = page.get_by_test_id("level-picture")
        assert picture.is_visible() and "Ока" in picture.get_attribute("aria-label")
        page.wait_for_timeout(2500)
        assert not reward.is_visible(), "the celebration gives the box back"
        draw_letters(page, context.new_cdp_session(page), 2)
        assert page.locator("#reward-car").get_attribute("href") == "#car-2", "each level its car"
    finally:
        context.close()


def test_reduced_motion_keeps_the_picture_without_the_confetti(live, browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, reduced_motion="reduce")
    try:
        page = open_drawing_page(context, live.url + "/en/")
        box = page.get_by_test_id("draw-area").bounding_box()
        page.mouse.move(box["x"] + box["width"] / 2, box["y"] + 30)
        page.mouse.down()
        page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] - 30, steps=8)
        page.mouse.up()
        page.get_by_test_id("next").click()
        assert page.get_by_test_id("reward").is_visible()
        assert not page.locator(".confetti").is_visible()
        assert (
            page.evaluate("getComputedStyle(document.querySelector('.reward-car')).animationName")
            == "none"
        )
        screenshot(page, "reward-desktop-reduced-motion")
    finally:
        context.close()


def test_my_letters_are_shown_and_shared_as_a_picture(live, phone):
    phone.add_init_script(
        """window.shared = null;
           navigator.canShare = (data) => !!(data.files && data.files.length);
           navigator.share = (data) => { window.shared = {text: data.text, url: data.url,
             files: data.files.map(f => ({name: f.name, type: f.type, size: f.size}))};
             return Promise.resolve(); };"""
    )
    page = open_drawing_page(phone, live.url + "/ru/")
    draw_letters(page, phone.new_cdp_session(page), 2)
    page.wait_for_timeout(2600)
    page.get_by_test_id("finish").tap()
    page.get_by_test_id("skip").tap()
    page.wait_for_url("**/ru/thanks.html")
    mine = page.get_by_test_id("my-letters")
    assert mine.is_visible()
    inked = page.evaluate(
        """() => [...document.querySelectorAll('[data-testid=my-letters] canvas')].map(c => {
             const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
             let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i] > 128) n++; return n; })"""
    )
    assert len(inked) == 2 and all(n > 50 for n in inked), inked
    assert page.get_by_test_id("thanks-count").inner_text() == "Вы нарисовали 2 буквы."
    screenshot(page, "thanks-phone-390-my-letters")
    page.get_by_test_id("share-image").tap()
    shared = wait_for(lambda: page.evaluate("window.shared"), what="the share", page=page)
    assert shared["files"][0]["type"] == "image/png" and shared["files"][0]["size"] > 1000
    assert "2 буквы" in shared["text"] and "Ока" in shared["text"], "count and level"
    assert shared["url"] == live.url + "/ru/"


def test_without_web_share_the_picture_of_my_letters_downloads(live, desktop, tmp_path):
    page = open_drawing_page(desktop, live.url + "/en/")
    box = page.get_by_test_id("draw-area").bounding_box()
    for x in (0.3, 0.6):
        page.mouse.move(box["x"] + box["width"] * x, box["y"] + 40)
        page.mouse.down()
        page.mouse.move(box["x"] + box["width"] * x, box["y"] + box["height"] - 40, steps=8)
        page.mouse.up()
        page.get_by_test_id("next").click()
    page.goto(live.url + "/en/thanks.html")
    assert page.evaluate("navigator.canShare === undefined || navigator.share === undefined")
    with page.expect_download() as download:
        page.get_by_test_id("share-image").click()
    path = tmp_path / download.value.suggested_filename
    download.value.save_as(path)
    assert path.name == "comnist-letters.png"
    with Image.open(path) as picture:
        assert picture.size == (3 * 160 + 48, 160 + 48 + 96), "a row of letters, then the words"
        assert min(picture.convert("L").getdata()) < 40, "the letters are in the picture"
    screenshot(page, "thanks-desktop-my-letters")


def test_offline_the_site_opens_from_the_service_worker_and_delivers_exactly_once(live, phone):
    page = open_drawing_page(phone, live.url + "/ru/")
    page.wait_for_function("navigator.serviceWorker.controller !== null", timeout=20000)
    page.wait_for_function("caches.keys().then(k => k.length === 1)", timeout=20000)
    live.stop()
    phone.set_offline(True)
    try:
        page.reload()
        page.get_by_test_id("prompt-letter").wait_for()
        assert page.locator("html").get_attribute("lang") == "ru"
        assert page.get_by_test_id("draw-area").is_visible(), "the drawing page, not an error"
        before = datetime.now(UTC)
        draw_letters(page, phone.new_cdp_session(page), 3)
        assert "3" in page.get_by_test_id("queue-status").inner_text()
        page.goto(live.url + "/ru/thanks.html")
        assert page.get_by_test_id("my-letters").is_visible(), "other pages open offline too"
        page.goto(live.url + "/ru/")
        page.get_by_test_id("prompt-letter").wait_for()
        screenshot(page, "offline-phone-390-reloaded")
        time.sleep(1)
        assert live.drawings() == []
    finally:
        live.start()
        phone.set_offline(False)
    wait_for(lambda: len(live.drawings()) == 3, timeout=40, what="three drawings", page=page)
    page.wait_for_timeout(3000)  # a duplicate upload would land now
    assert len(live.drawings()) == 3 and len({p.stem for p in live.drawings()}) == 3
    for record in records(live):
        drawn = datetime.fromisoformat(record["drawn_at"].replace("Z", "+00:00"))
        assert abs((drawn - before).total_seconds()) < 120, "the device's time of drawing"
        assert record["created"] >= record["drawn_at"][:19], "created is when it arrived"


def test_the_manifest_makes_the_site_installable(live, desktop):
    page = open_drawing_page(desktop, live.url + "/fr/")
    href = page.locator("link[rel=manifest]").get_attribute("href")
    response = page.request.get(live.url + href)
    assert response.headers["content-type"].startswith("application/manifest+json")
    manifest = response.json()
    assert manifest["start_url"] == "/fr/" and manifest["display"] == "standalone"
    assert manifest["lang"] == "fr" and manifest["name"].startswith("CoMNIST")
    for icon in manifest["icons"]:
        image = Image.open(io.BytesIO(page.request.get(live.url + icon["src"]).body()))
        assert f"{image.size[0]}x{image.size[1]}" == icon["sizes"]


def test_child_mode_speaks_the_letter_draws_bigger_and_records_the_age_group(live, phone):
    phone.add_init_script(
        """window.spoken = [];
           speechSynthesis.speak = (u) => spoken.push([u.text, u.lang]);
           speechSynthesis.cancel = () => {};"""
    )
    page = open_drawing_page(phone, live.url + "/fr/")
    letter = page.get_by_test_id("prompt-letter")
    small = letter.bounding_box()["height"]
    page.get_by_test_id("child-mode").tap()
    assert page.get_by_test_id("child-mode").get_attribute("aria-pressed") == "true"
    assert letter.bounding_box()["height"] > small * 1.4, "a bigger prompt"
    assert page.evaluate("spoken") == [[letter.inner_text().strip(), "fr"]]
    screenshot(page, "child-phone-390-fr")
    cdp = phone.new_cdp_session(page)
    draw_letters(page, cdp, 1)
    assert page.evaluate("spoken.length") == 2, "each new letter is said aloud"
    page.wait_for_timeout(2600)
    page.get_by_test_id("child-mode").tap()
    assert page.get_by_test_id("child-mode").get_attribute("aria-pressed") == "false"
    draw_letters(page, cdp, 1)
    stored = wait_for(lambda: len(records(live)) == 2 and records(live), what="both drawings")
    assert sorted(r["age_group"] for r in stored) == ["adult", "child"]
    page.goto(live.url + "/fr/about.html")
    assert "enfant" in page.locator("#privacy ~ p").first.inner_text()


def test_a_device_clock_far_off_costs_no_drawing(live, phone):
    phone.add_init_script("Date.prototype.toISOString = () => '2001-01-01T00:00:00.000Z';")
    page = open_drawing_page(phone, live.url + "/ru/")
    refusals = []
    page.on(
        "response",
        lambda response: (
            refusals.append(response.status) if "/api/drawings" in response.url else None
        ),
    )
    draw_letters(page, phone.new_cdp_session(page), 1)
    wait_for(lambda: live.drawings(), what="the drawing, sent again without its time", page=page)
    page.wait_for_timeout(1500)
    (record,) = records(live)
    assert "drawn_at" not in record and record["created"][:4] == str(datetime.now(UTC).year)
    assert refusals[0] == 400 and refusals[-1] == 201 and len(live.drawings()) == 1
