"""The game's second round: nothing over the pen, a goal people see move, nothing lost at Finish,
sharing that carries the site, the reveal of other people's letters, and the keyboard."""

from __future__ import annotations

import json
import re
from urllib.parse import unquote

import pytest

from browserkit import (
    axe_violations,
    canvas_ink_at,
    guard_csp,
    line,
    open_drawing_page,
    press_next,
    screenshot,
    touch_stroke,
    wait_for,
)
from chalicelib.alphabets import alphabets

pytestmark = pytest.mark.browser


def small_phone(browser, locale: str = "ru-RU", width: int = 320, height: int = 568):
    context = browser.new_context(
        viewport={"width": width, "height": height},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        locale=locale,
    )
    context.violations = guard_csp(context)
    return context


def stats_body(counts: dict[str, int]) -> str:
    letters = {a.id: {ch: counts.get(ch, 500) for ch in a.letters} for a in alphabets().values()}
    return json.dumps(
        {
            "goal": 1000,
            "updated": None,
            "alphabets": {a: {"total": sum(c.values()), "letters": c} for a, c in letters.items()},
        }
    )


def on_screen(page, test_id: str) -> bool:
    return page.evaluate(
        """(id) => { const r = document.querySelector(`[data-testid=${id}]`).getBoundingClientRect();
             return r.width > 0 && r.left >= 0 && r.top >= 0 && r.right <= innerWidth
               && r.bottom <= innerHeight && scrollY === 0; }""",
        test_id,
    )


def overlaps(a: dict, b: dict) -> bool:
    return not (
        a["x"] + a["width"] <= b["x"]
        or b["x"] + b["width"] <= a["x"]
        or a["y"] + a["height"] <= b["y"]
        or b["y"] + b["height"] <= a["y"]
    )


@pytest.mark.parametrize(("width", "height"), [(320, 568), (390, 844)])
def test_the_celebration_never_covers_the_box_and_the_pen_draws_at_once(
    live, browser, width, height
):
    context = small_phone(browser, width=width, height=height)
    try:
        page = open_drawing_page(context, live.url + "/ru/")
        cdp = context.new_cdp_session(page)
        touch_stroke(page, cdp, line((0.5, 0.15), (0.5, 0.85)))
        press_next(page)
        reward, box = page.get_by_test_id("reward"), page.get_by_test_id("draw-area")
        assert reward.is_visible() and "Ока" in reward.inner_text()
        assert not overlaps(reward.bounding_box(), box.bounding_box()), "the box stays free"
        car = reward.locator("svg.reward-car").bounding_box()
        assert car["width"] > 80 and car["height"] > 40, "a picture, not a line of text"
        hit = page.evaluate(
            """() => { const r = document.querySelector('[data-testid=draw-area]').getBoundingClientRect();
                 return document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2).id; }"""
        )
        assert hit == "draw-area", "nothing lies over the box"
        screenshot(page, f"round-reward-{width}")
        # Straight away, while the celebration is on: ink at full contrast, and it gives way.
        touch_stroke(page, cdp, line((0.2, 0.5), (0.8, 0.5)))
        assert canvas_ink_at(page, 0.5, 0.5) == 255
        pixel = page.evaluate(
            """() => { const c = document.querySelector('[data-testid=draw-area]');
                 return Array.from(c.getContext('2d').getImageData(c.width / 2, c.height / 2, 1, 1).data); }"""
        )
        assert pixel == [0, 0, 0, 255], "black ink, nothing paler over it"
        assert not reward.is_visible(), "the first touch dismisses the celebration"
        assert context.violations == []
    finally:
        context.close()


def test_the_goal_is_labelled_counts_my_drawing_before_it_moves_on_and_stays_in_view(live, browser):
    context = small_phone(browser)
    try:
        page = context.new_page()
        page.route(
            "**/api/stats",
            lambda route: route.fulfill(
                status=200, content_type="application/json", body=stats_body({"Ж": 3})
            ),
        )
        page.goto(live.url + "/ru/")
        page.wait_for_load_state("networkidle")
        total = sum({ch: 500 for ch in alphabets()["cyrillic"].letters}.values()) - 497
        assert page.get_by_test_id("prompt-letter").inner_text().strip() == "Ж"
        status = page.get_by_test_id("status")
        assert "Общая цель" in status.inner_text(), "a label sighted people see"
        assert re.fullmatch(r"Ж: 3 из 1\s000", page.get_by_test_id("goal").inner_text())
        assert re.search(rf"всего: {total // 1000}\s{total % 1000:03d}", status.inner_text())
        for test_id in ("counter", "level-name", "goal", "goal-total", "draw-area", "next"):
            assert on_screen(page, test_id), f"{test_id} is in view at 320x568"
        assert page.evaluate(
            "(() => { const s = document.querySelector('[data-testid=status]');"
            " return s.scrollHeight <= s.clientHeight + 1; })()"
        ), "nothing of the status is cut off"
        cdp = context.new_cdp_session(page)
        touch_stroke(page, cdp, line((0.5, 0.15), (0.5, 0.85)))
        press_next(page)
        assert page.get_by_test_id("prompt-letter").inner_text().strip() != "Ж"
        goal = page.get_by_test_id("goal").inner_text()
        assert re.fullmatch(r"Ж: 4 из 1\s000 \+1 ✓", goal), "my drawing, counted"
        screenshot(page, "round-goal-counted-320")
        for test_id in ("counter", "level-name", "goal", "draw-area", "next", "finish"):
            assert on_screen(page, test_id), f"{test_id} is in view after the first letter"
        new_letter = page.get_by_test_id("prompt-letter").inner_text().strip()
        wait_for(
            lambda: page.get_by_test_id("goal").inner_text().startswith(new_letter),
            timeout=5,
            what="the goal of the new letter",
            page=page,
        )
        total_text = page.get_by_test_id("goal-total").inner_text()
        assert re.search(rf"{(total + 1) // 1000}\s{(total + 1) % 1000:03d}", total_text), (
            total_text
        )
        assert context.violations == []
    finally:
        context.close()


def test_finish_sends_the_letter_left_on_the_box(live, browser):
    context = small_phone(browser, width=390, height=844)
    try:
        page = open_drawing_page(context, live.url + "/ru/")
        cdp = context.new_cdp_session(page)
        touch_stroke(page, cdp, line((0.5, 0.15), (0.5, 0.85)))
        assert page.get_by_test_id("finish").is_enabled(), "a first letter can be finished"
        press_next(page)
        touch_stroke(page, cdp, line((0.3, 0.2), (0.7, 0.8)))
        page.get_by_test_id("finish").tap()
        page.get_by_test_id("skip").tap()
        page.wait_for_url("**/ru/thanks.html")
        assert page.get_by_test_id("thanks-count").inner_text() == "Вы нарисовали 2 буквы."
        wait_for(lambda: len(live.drawings("cyrillic")) == 2, what="both drawings", page=page)
    finally:
        context.close()


def test_next_gives_the_focus_to_the_box_named_after_the_new_letter(live, desktop):
    page = open_drawing_page(desktop, live.url + "/en/")
    box = page.get_by_test_id("draw-area")
    bounds = box.bounding_box()
    page.mouse.move(bounds["x"] + bounds["width"] / 2, bounds["y"] + 30)
    page.mouse.down()
    page.mouse.move(bounds["x"] + bounds["width"] / 2, bounds["y"] + bounds["height"] - 30, steps=8)
    page.mouse.up()
    page.get_by_test_id("next").focus()
    page.keyboard.press("Enter")
    page.wait_for_function("document.querySelector('[data-testid=counter]').textContent === '1'")
    letter = page.get_by_test_id("prompt-letter").inner_text().strip()
    assert page.evaluate("document.activeElement.id") == "draw-area"
    assert box.get_attribute("aria-label") == f"Drawing area: draw the letter {letter} here"
    assert page.locator("#keyboard-hint").is_visible(), "the keyboard is told how to draw"
    assert "Mouse Keys" in page.locator("#keyboard-hint").inner_text()


def test_a_keyboard_reaches_every_control(live, desktop):
    page = open_drawing_page(desktop, live.url + "/en/")
    reached = set()
    for _ in range(40):
        page.keyboard.press("Tab")
        reached.add(
            page.evaluate("document.activeElement.id || document.activeElement.textContent.trim()")
        )
    for control in (
        "draw-area",
        "child-mode",
        "switch-alphabet",
        "Contributors",
        "About & privacy",
    ):
        assert control in reached, f"{control} by keyboard; reached {sorted(reached)}"
    # Buttons disabled until there is a drawing are reachable once they do something.
    page.get_by_test_id("draw-area").focus()
    page.get_by_test_id("child-mode").focus()
    page.keyboard.press("Enter")
    assert page.get_by_test_id("speak").is_visible(), "the letter is said by a button too"


def test_sharing_carries_the_address_the_count_and_the_level(live, browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="ru-RU")
    context.violations = guard_csp(context)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live.url)
    context.add_init_script(
        """window.written = [];
           const fillText = CanvasRenderingContext2D.prototype.fillText;
           CanvasRenderingContext2D.prototype.fillText = function (text, ...rest) {
             window.written.push(String(text)); return fillText.call(this, text, ...rest); };"""
    )
    try:
        page = open_drawing_page(context, live.url + "/ru/")
        box = page.get_by_test_id("draw-area").bounding_box()
        for x in (0.3, 0.6):
            page.mouse.move(box["x"] + box["width"] * x, box["y"] + 40)
            page.mouse.down()
            page.mouse.move(box["x"] + box["width"] * x, box["y"] + box["height"] - 40, steps=8)
            page.mouse.up()
            page.get_by_test_id("next").click()
        page.goto(live.url + "/ru/thanks.html")
        with page.expect_download():
            page.get_by_test_id("share-image").click()
        written = " ".join(page.evaluate("window.written"))
        assert live.url.split("://")[1] + "/ru/" in written, "the site's address"
        assert "2 буквы" in written and "Ока" in written, "the count and the level"
        assert page.get_by_test_id("share-done").inner_text(), "a confirmation"
        for network in ("telegram", "x", "whatsapp", "vk"):
            href = unquote(page.get_by_test_id(f"share-{network}").get_attribute("href"))
            assert "2 буквы" in href.replace("+", " ") and "Ока" in href, network
            assert "нарисовал " not in href, "no masculine-only wording"
        page.get_by_test_id("copy-link").click()
        page.get_by_test_id("copy-done").wait_for()
        assert (
            page.get_by_test_id("copy-done").inner_text()
            == "Ссылка скопирована: вставьте её куда угодно."
        )
        assert page.evaluate("navigator.clipboard.readText()") == live.url + "/ru/"
        assert context.violations == []
    finally:
        context.close()


def test_every_ten_letters_the_reveal_shows_other_peoples_letters(live, browser):
    context = small_phone(browser, width=390, height=844)
    try:
        page = context.new_page()
        requested = []
        page.on("request", lambda request: requested.append(request.url))
        page.goto(live.url + "/ru/")
        page.get_by_test_id("prompt-letter").wait_for()
        page.wait_for_load_state("networkidle")
        assert not [u for u in requested if "gallery-" in u or "/reveal." in u], "loaded lazily"
        cdp = context.new_cdp_session(page)
        drawn = []
        for i in range(10):
            drawn.append(page.get_by_test_id("prompt-letter").inner_text().strip())
            touch_stroke(page, cdp, line((0.3 + 0.04 * i, 0.2), (0.5, 0.8)))
            press_next(page)
        dialog = page.get_by_test_id("reveal-dialog")
        dialog.wait_for()
        rows = page.locator("[data-testid=reveal-dialog] li")
        assert rows.count() == len(set(drawn))
        letters = [t.strip() for t in rows.locator(".reveal-letter").all_inner_texts()]
        assert set(letters) == set(drawn)
        others = page.evaluate(
            """() => [...document.querySelectorAll('[data-testid=reveal-dialog] li')].map(li =>
                 [...li.querySelectorAll('canvas:not(.mine)')].map(c => {
                   const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
                   let dark = 0; for (let i = 0; i < d.length; i += 4) if (d[i] < 100 && d[i + 3] > 200) dark++;
                   return dark; }))"""
        )
        assert all(len(row) >= 3 and all(n > 30 for n in row) for row in others), others
        assert [u for u in requested if "gallery-cyrillic" in u], "from the site's own gallery"
        assert all(u.startswith(live.url) for u in requested)
        screenshot(page, "round-reveal-390")
        assert axe_violations(page) == [], "the reveal is usable by anyone"
        assert page.evaluate("document.activeElement.id") == "reveal-close"
        page.get_by_test_id("reveal-close").tap()
        assert not dialog.is_visible()
        assert page.evaluate("document.activeElement.id") == "draw-area"
        assert context.violations == []
    finally:
        context.close()
