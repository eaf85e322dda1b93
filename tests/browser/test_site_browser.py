"""The drawing site as participants use it, in headless Chromium against ``comnist serve``."""

from __future__ import annotations

import gzip
import io
import json
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import Error as PlaywrightError

from browserkit import (
    canvas_ink_at,
    draw_with_mouse,
    line,
    open_drawing_page,
    press_next,
    screenshot,
    touch_stroke,
    wait_for,
)
from chalicelib.alphabets import alphabets, code_point
from comnist.forget import deletion_code

pytestmark = pytest.mark.browser


def ink(png_path) -> np.ndarray:
    image = Image.open(png_path)
    assert image.size == (278, 278) and image.mode == "RGBA"
    return np.asarray(image)[..., 3]


def test_phone_draws_the_requested_letter_and_the_collector_stores_it(live, phone):
    page = open_drawing_page(phone, live.url + "/")
    assert page.url.endswith("/ru/"), "a Russian phone lands on the Russian page"
    assert page.locator("html").get_attribute("lang") == "ru"
    letter = page.get_by_test_id("prompt-letter").inner_text().strip()
    assert re.fullmatch("[А-ЯЁ]", letter)
    assert page.get_by_test_id("next").is_disabled()
    notice = page.locator("#notice")
    assert notice.is_visible() and "CC BY-SA 4.0" in notice.inner_text(), "licence before drawing"
    assert page.get_by_test_id("finish").is_disabled(), "nothing to finish before the first letter"
    assert notice.get_by_role("link").get_attribute("href") == "/ru/about.html#privacy"
    screenshot(page, "phone-1-start")

    cdp = phone.new_cdp_session(page)
    touch_stroke(page, cdp, line((0.5, 0.15), (0.5, 0.85)))  # a vertical bar down the middle
    assert canvas_ink_at(page, 0.5, 0.5) > 0
    # Crisp on a 3x screen, and the line as thick, relative to the area, as in the stored PNG.
    width, css_width, line_px = page.evaluate(
        """() => { const c = document.querySelector('[data-testid=draw-area]');
             const row = c.getContext('2d').getImageData(0, Math.floor(c.height / 2), c.width, 1).data;
             let inked = 0; for (let i = 3; i < row.length; i += 4) if (row[i] > 127) inked++;
             return [c.width, c.clientWidth, inked / devicePixelRatio]; }"""
    )
    assert width == round(css_width * 3)
    assert abs(line_px - css_width * 15 / 278) < 2
    screenshot(page, "phone-2-drawn")
    assert page.get_by_test_id("next").is_enabled()
    press_next(page)
    new_letter = page.get_by_test_id("prompt-letter").inner_text().strip()
    assert new_letter != letter, "never the same letter twice in a row"
    assert page.get_by_test_id("counter").inner_text() == "1"
    assert canvas_ink_at(page, 0.5, 0.5) == 0, "the next letter starts on a clean area"
    assert not notice.is_visible(), "the notice has done its job once something is drawn"

    stored = wait_for(lambda: live.drawings("cyrillic"), what="the stored drawing")
    assert len(stored) == 1
    assert stored[0].parent.name == code_point(letter), (
        "the collector stored the letter that was asked"
    )
    alpha = ink(stored[0])
    assert alpha[100:180, 130:148].mean() > 200, "ink where the finger went"
    assert alpha[:, :100].max() == 0 and alpha[:, 180:].max() == 0, "no ink elsewhere"
    assert abs(int((alpha[139] > 127).sum()) - 15) <= 2, "the stored line is 15 of 278 px wide"
    record = json.loads(
        (
            live.data
            / "drawings"
            / "strokes"
            / "cyrillic"
            / code_point(letter)
            / (stored[0].stem + ".json")
        ).read_text()
    )
    assert record["device"] == {"pointer": "touch", "dpr": 3} and record["locale"] == "ru"
    xs, ys, ts = record["strokes"][0]
    assert ts[0] == 0 and ts == sorted(ts), "ms from the first point, never going back"
    assert abs(min(xs) - record["canvas"]["width"] / 2) < 2, "x in CSS px of the drawing area"
    screenshot(page, "phone-3-next-letter")
    assert not page.errors


def test_undo_clear_second_finger_and_empty_drawing(live, phone):
    page = open_drawing_page(phone, live.url + "/ru/")
    cdp = phone.new_cdp_session(page)
    touch_stroke(page, cdp, line((0.2, 0.2), (0.2, 0.8)))
    touch_stroke(page, cdp, line((0.8, 0.2), (0.8, 0.8)))
    assert canvas_ink_at(page, 0.8, 0.5) > 0
    page.get_by_test_id("undo").tap()
    assert canvas_ink_at(page, 0.8, 0.5) == 0 and canvas_ink_at(page, 0.2, 0.5) > 0
    page.get_by_test_id("clear").tap()
    assert canvas_ink_at(page, 0.2, 0.5) == 0
    assert page.get_by_test_id("next").is_disabled(), "an empty drawing cannot be sent"
    page.get_by_test_id("next").dispatch_event("click")  # even a forced click sends nothing
    assert page.get_by_test_id("counter").inner_text() == "0"

    # First finger draws a horizontal bar; a second finger lands and moves down the right side.
    box = page.get_by_test_id("draw-area").bounding_box()

    def at(fx, fy, touch_id):
        return {
            "x": box["x"] + fx * box["width"],
            "y": box["y"] + fy * box["height"],
            "id": touch_id,
        }

    cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [at(0.2, 0.5, 1)]})
    cdp.send(
        "Input.dispatchTouchEvent",
        {"type": "touchStart", "touchPoints": [at(0.2, 0.5, 1), at(0.9, 0.1, 2)]},
    )
    for i in range(1, 21):
        cdp.send(
            "Input.dispatchTouchEvent",
            {
                "type": "touchMove",
                "touchPoints": [at(0.2 + 0.03 * i, 0.5, 1), at(0.9, 0.1 + 0.04 * i, 2)],
            },
        )
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    page.wait_for_timeout(500)
    assert canvas_ink_at(page, 0.5, 0.5) > 0
    assert canvas_ink_at(page, 0.9, 0.6) == 0, "the second finger does not draw"
    press_next(page)
    stored = wait_for(lambda: live.drawings(), what="the stored drawing")
    alpha = ink(stored[0])
    assert alpha[139, 100:160].min() > 200
    assert alpha[150:260, 245:260].max() == 0, "no ink where the second finger went"
    time.sleep(1)
    assert len(live.drawings()) == 1, "only the drawn letter was sent"


def test_offline_drawings_survive_a_reload_and_arrive_exactly_once(live, phone):
    page = open_drawing_page(phone, live.url + "/ru/")
    page.route("**/api/**", lambda route: route.abort("internetdisconnected"))
    cdp = phone.new_cdp_session(page)
    for i in range(3):
        touch_stroke(page, cdp, line((0.3 + 0.1 * i, 0.2), (0.5, 0.8)))
        press_next(page)
    assert page.get_by_test_id("counter").inner_text() == "3", "no waiting: the next letter at once"
    assert page.get_by_test_id("reward").is_visible(), "three letters reach the second level"
    assert page.locator("#level-name").inner_text() == "Запорожец"
    page.wait_for_timeout(400)  # mid-animation
    screenshot(page, "phone-level-up")
    page.reload()
    page.get_by_test_id("prompt-letter").wait_for()
    assert "3" in page.get_by_test_id("queue-status").inner_text()
    time.sleep(1)
    assert live.drawings() == [], "nothing arrives while offline"
    page.unroute("**/api/**")
    wait_for(lambda: len(live.drawings()) == 3, timeout=40, what="three drawings")
    time.sleep(3)  # any duplicate upload would land now
    stored = live.drawings()
    assert len(stored) == 3 and len({p.stem for p in stored}) == 3
    wait_for(
        lambda: page.get_by_test_id("queue-status").inner_text() not in ("", "3"),
        what="queue status",
    )
    assert page.evaluate("JSON.parse(localStorage.getItem('comnist:queue') || '[]').length") == 0


def test_finish_with_name_and_email_then_the_thanks_page_shows_the_name_as_text(live, phone):
    page = open_drawing_page(phone, live.url + "/ru/")
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    cdp = phone.new_cdp_session(page)
    touch_stroke(page, cdp, line((0.5, 0.2), (0.5, 0.8)))
    press_next(page)
    page.get_by_test_id("finish").tap()
    hostile = "<script>alert('x')</script> Аня"
    page.get_by_test_id("name").fill(hostile)
    page.get_by_test_id("email").fill("anya@example")
    page.get_by_test_id("name-consent").check()
    page.get_by_test_id("send").tap()
    assert "адрес" in page.locator("#form-error").inner_text(), "an e-mail address is checked"
    page.get_by_test_id("name-consent").uncheck()
    page.get_by_test_id("email").fill("anya@example.org")
    page.get_by_test_id("send").tap()
    assert "галочку" in page.locator("#form-error").inner_text(), "a name needs its own consent"
    assert "/thanks" not in page.url
    page.get_by_test_id("name-consent").check()
    page.get_by_test_id("email-consent").check()
    screenshot(page, "phone-4-finish-form")
    page.get_by_test_id("send").tap()
    page.wait_for_url("**/ru/thanks.html")
    assert (
        page.get_by_test_id("share-vk")
        .get_attribute("href")
        .startswith("https://vk.com/share.php?")
    )
    other = page.get_by_test_id("other-alphabet")
    assert other.is_visible() and other.get_attribute("href") == "/ru/?alphabet=latin"
    screenshot(page, "phone-5-thanks")

    records = wait_for(
        lambda: list((live.data / "contributors" / "contributors").glob("*.json")),
        what="the contributor record",
    )
    record = json.loads(records[0].read_text())
    assert record["name"] == hostile and record["email"] == "anya@example.org"
    assert record["consent"] == {"thanks_page": True, "updates": True}
    assert record["count"] == 1, "the record says how many letters were drawn"

    # The thanks page shows the deletion code of this device's session, as `comnist forget` reads it.
    code = page.get_by_test_id("deletion-code")
    code.wait_for(state="visible")
    assert code.inner_text() == deletion_code(record["session"])

    page.goto(live.url + "/ru/contributors.html")
    assert hostile not in page.content(), "a name waits for the maintainer's approval"
    approval = [*("contributors", "approve", record["session"][:8]), "--data", str(live.data)]
    subprocess.run(
        [sys.executable, "-m", "comnist", *approval, "--site", str(live.site)],
        cwd=Path(__file__).resolve().parents[2],
        check=True,
        capture_output=True,
    )
    page.goto(live.url + "/ru/contributors.html")  # follows the approval without a rebuild
    assert hostile in page.get_by_test_id("contributors").inner_text()
    assert "anya@example.org" not in page.content()
    assert dialogs == [], "the name is shown as text, never run"
    screenshot(page, "phone-6-contributors")


@pytest.mark.parametrize(
    ("path", "lang", "prompt", "alphabet"),
    [
        ("/en/", "en", "Draw the capital letter", "[A-Z]"),
        ("/fr/", "fr", "Dessinez la lettre majuscule", "[A-Z]"),
        ("/ru/", "ru", "Нарисуйте заглавную букву", "[А-ЯЁ]"),
        ("/de/", "de", "Zeichne den Großbuchstaben", "[A-Z]"),
        ("/zh/", "zh", "请画出大写字母", "[A-Z]"),
    ],
)
def test_each_language_page_speaks_its_language(live, desktop, path, lang, prompt, alphabet):
    page = open_drawing_page(desktop, live.url + path)
    assert page.locator("html").get_attribute("lang") == lang
    assert prompt in page.locator(".prompt-text").inner_text()
    assert re.fullmatch(alphabet, page.get_by_test_id("prompt-letter").inner_text().strip())
    og = page.locator("meta[property='og:image']").get_attribute("content")
    assert og.endswith(f"/og/{lang}.png")
    for test_id in ("undo", "clear", "next", "finish"):
        assert page.get_by_test_id(test_id).inner_text().strip(), "real buttons with visible labels"


def test_root_picks_the_browser_language_and_legacy_links_keep_working(live, browser, desktop):
    page = desktop.new_page()
    page.goto(live.url + "/")
    page.wait_for_url("**/en/")
    page.goto(live.url + "/?ru")
    page.wait_for_url("**/ru/")
    page.goto(live.url + "/?fr")
    page.wait_for_url("**/fr/")
    for legacy in ("/?cn", "/?zh"):
        page.goto(live.url + legacy)
        page.wait_for_url("**/zh/")
        assert page.locator("html").get_attribute("lang") == "zh"
    french = browser.new_context(locale="fr-FR")
    try:
        page = french.new_page()
        page.goto(live.url + "/")
        page.wait_for_url("**/fr/")
        assert page.locator("html").get_attribute("lang") == "fr"
    finally:
        french.close()


def test_thanks_page_uses_the_web_share_api_when_there_is_one(live, desktop):
    page = desktop.new_page()
    page.add_init_script(
        "navigator.share = (data) => { window.shared = data; return Promise.resolve(); };"
    )
    page.goto(live.url + "/fr/thanks.html")
    page.locator("#native-share").click()
    shared = page.evaluate("window.shared")
    assert shared["url"] == live.url + "/fr/" and "CoMNIST" in shared["text"]


def test_desktop_mouse_flow_and_alphabet_switch(live, desktop):
    page = open_drawing_page(desktop, live.url + "/en/")
    box = page.get_by_test_id("draw-area").bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.8)
    page.mouse.down()
    for i in range(1, 21):
        page.mouse.move(
            box["x"] + box["width"] * (0.3 + 0.02 * i), box["y"] + box["height"] * (0.8 - 0.03 * i)
        )
    page.mouse.up()
    page.get_by_test_id("clear").focus()
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.dataset.testid") == "next"
    outline = page.evaluate(
        "getComputedStyle(document.querySelector('[data-testid=next]')).outlineStyle"
    )
    assert outline not in ("", "none"), "keyboard focus is visible"
    letter = page.get_by_test_id("prompt-letter").inner_text().strip()
    page.get_by_test_id("next").click()
    stored = wait_for(lambda: live.drawings("latin"), what="a Latin drawing")
    assert stored[0].parent.name == code_point(letter)
    record_path = live.data / "drawings" / "strokes" / "latin" / code_point(letter)
    record = json.loads((record_path / (stored[0].stem + ".json")).read_text())
    assert record["device"] == {"pointer": "mouse", "dpr": 1} and record["locale"] == "en"
    assert len(record["strokes"]) == 1 and len(record["strokes"][0][0]) > 10
    page.locator("#switch-alphabet").click()
    page.wait_for_url("**/en/?alphabet=cyrillic")
    page.wait_for_load_state("networkidle")
    assert re.fullmatch("[А-ЯЁ]", page.get_by_test_id("prompt-letter").inner_text().strip())
    screenshot(page, "desktop-cyrillic")


def body_of(context, response) -> bytes:
    """A response's body; a page the root redirected away from is fetched again."""
    try:
        return response.body()
    except PlaywrightError:
        return context.request.get(response.url).body()


def is_letter_guess(url: str) -> bool:
    """The recognizer's script and models, which the page loads after its first paint."""
    return "recognizer." in url or "/letters-" in url


def first_load(browser, url: str) -> tuple[list[str], int]:
    """Every URL a fresh browser loads for ``url``, and the size gzipped of all but the guess's."""
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="ru-RU")
    try:
        page = context.new_page()
        responses = []
        page.on("response", lambda response: responses.append(response))
        page.goto(url)
        page.wait_for_load_state("networkidle")
        total = sum(
            len(gzip.compress(body_of(context, r))) for r in responses if not is_letter_guess(r.url)
        )
        return [r.url for r in responses], total
    finally:
        context.close()


@pytest.mark.parametrize(
    "path", ["/", "/ru/", "/en/", "/fr/thanks.html", "/ru/contributors.html", "/en/about.html"]
)
def test_first_load_budget_and_no_third_party_requests(live, browser, path):
    urls, total = first_load(browser, live.url + path)
    assert urls and all(url.startswith(live.url) for url in urls), urls
    print(f"first load of {path}: {len(urls)} requests, {total} bytes gzipped")
    assert total <= 30 * 1024, f"first load of {path} is {total} bytes gzipped"


def test_usable_at_320_px_and_the_sharing_card_is_there(live, phone):
    page = open_drawing_page(phone, live.url + "/ru/")
    page.set_viewport_size({"width": 320, "height": 640})
    assert page.evaluate("document.documentElement.scrollWidth") <= 320, "usable at 320 px"
    for test_id in ("draw-area", "undo", "clear", "next", "finish"):
        box = page.get_by_test_id(test_id).bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 320, f"{test_id} fits at 320 px"
        assert box["height"] >= 44 or test_id == "draw-area", f"{test_id} is big enough to tap"
    screenshot(page, "phone-320")
    og = Image.open(io.BytesIO(page.request.get(live.url + "/og/ru.png").body()))
    assert og.size == (1200, 630)


def fake_stats(counts: dict[str, int]) -> str:
    letters = {a.id: {ch: counts.get(ch, 500) for ch in a.letters} for a in alphabets().values()}
    return json.dumps(
        {
            "goal": 1000,
            "updated": None,
            "alphabets": {a: {"total": sum(c.values()), "letters": c} for a, c in letters.items()},
        }
    )


def test_the_least_drawn_letter_comes_first_and_never_twice_in_a_row(live, phone):
    page = phone.new_page()
    stats = fake_stats({"Ж": 3, "Щ": 40})
    page.route(
        "**/api/stats",
        lambda route: route.fulfill(status=200, content_type="application/json", body=stats),
    )
    page.goto(live.url + "/ru/")
    page.wait_for_load_state("networkidle")
    assert page.get_by_test_id("prompt-letter").inner_text().strip() == "Ж"
    goal = page.get_by_test_id("goal").inner_text()
    assert re.fullmatch(r"Ж: 3 из 1\s000", goal), goal
    cdp = phone.new_cdp_session(page)
    touch_stroke(page, cdp, line((0.5, 0.2), (0.5, 0.8)))
    press_next(page)
    assert page.get_by_test_id("prompt-letter").inner_text().strip() == "Щ", (
        "the next least drawn letter, not the same one again"
    )
    stored = wait_for(lambda: live.drawings("cyrillic"), what="the stored drawing")
    assert stored[0].parent.name == code_point("Ж")


def test_a_busy_collector_gets_the_drawing_later_exactly_once(live, phone):
    page = open_drawing_page(phone, live.url + "/ru/")
    attempts = []

    def busy_then_fine(route):
        attempts.append(route.request.post_data_json["id"])
        if len(attempts) <= 2:
            route.fulfill(
                status=503,
                headers={"Retry-After": "1"},
                content_type="application/json",
                body='{"error": "busy"}',
            )
        else:
            route.continue_()

    page.route("**/api/drawings", busy_then_fine)
    cdp = phone.new_cdp_session(page)
    touch_stroke(page, cdp, line((0.5, 0.2), (0.5, 0.8)))
    press_next(page)
    wait_for(lambda: live.drawings(), timeout=20, what="the drawing after retries", page=page)
    page.wait_for_timeout(2000)  # any duplicate upload would land now
    assert len(live.drawings()) == 1 and len(attempts) == 3, attempts
    assert len(set(attempts)) == 1, "every retry carries the same drawing id"
    assert live.drawings()[0].stem == attempts[0]


def test_a_name_the_collector_refuses_is_explained_and_nothing_is_stored(live, desktop):
    page = open_drawing_page(desktop, live.url + "/en/")
    draw_with_mouse(page, [(0.5, 0.2), (0.5, 0.8)])
    page.get_by_test_id("next").click()
    page.get_by_test_id("finish").click()
    page.get_by_test_id("name").fill("Eve \u202egnp.exe")
    page.get_by_test_id("name-consent").check()
    page.get_by_test_id("send").click()
    error = page.locator("#form-error")
    error.filter(has_text="format characters").wait_for()
    assert page.url.endswith("/en/"), "the participant stays to correct the name"
    assert not list((live.data / "contributors").rglob("*.json"))
    page.get_by_test_id("name").fill("Eve")
    page.get_by_test_id("send").click()
    page.wait_for_url("**/en/thanks.html")
    records = wait_for(
        lambda: list((live.data / "contributors" / "contributors").glob("*.json")),
        what="the corrected record",
    )
    assert json.loads(records[0].read_text())["name"] == "Eve"
