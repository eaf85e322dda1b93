"""Languages, plurals, typography and the small-phone layout of the drawing site, in Chromium."""

from __future__ import annotations

import re

import pytest

from browserkit import (
    draw_with_mouse,
    line,
    open_drawing_page,
    press_next,
    screenshot,
    touch_stroke,
)

pytestmark = pytest.mark.browser


def phone_context(browser, width: int, height: int, locale: str = "en-GB"):
    return browser.new_context(
        viewport={"width": width, "height": height},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        locale=locale,
    )


def inside_viewport(page, test_id: str) -> bool:
    """Whether the element is wholly on screen without scrolling."""
    return page.evaluate(
        """(id) => { const r = document.querySelector(`[data-testid=${id}]`).getBoundingClientRect();
             return r.left >= 0 && r.top >= 0 && r.right <= innerWidth && r.bottom <= innerHeight
               && scrollX === 0 && scrollY === 0; }""",
        test_id,
    )


def status_cut_off(page) -> list[str]:
    """Lines of the status (counter, level, community goal) that do not fit their width."""
    return page.evaluate(
        """() => [...document.querySelectorAll('[data-testid=status] p')]
             .filter(p => p.scrollWidth > p.clientWidth + 1).map(p => p.textContent)"""
    )


@pytest.mark.parametrize(
    ("lang", "width", "height"),
    [
        ("ru", 320, 568),
        ("fr", 320, 568),
        ("de", 320, 568),
        ("zh", 320, 568),
        ("ru", 390, 844),
        ("en", 390, 844),
    ],
)
def test_the_whole_box_and_next_are_on_screen_and_nothing_moves(live, browser, lang, width, height):
    context = phone_context(browser, width, height)
    try:
        page = open_drawing_page(context, f"{live.url}/{lang}/")
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        for test_id in ("draw-area", "next", "prompt-letter", "alphabet-badge", "counter", "goal"):
            assert inside_viewport(page, test_id), f"{test_id} at {width}x{height} in {lang}"
        assert status_cut_off(page) == [], "the status says all it has"
        before = page.get_by_test_id("draw-area").bounding_box()
        assert before["width"] >= width * 0.8, "the box uses the width of the phone"
        screenshot(page, f"layout-{lang}-{width}-start")
        cdp = context.new_cdp_session(page)
        touch_stroke(page, cdp, line((0.5, 0.15), (0.5, 0.85)))
        press_next(page)
        assert page.get_by_test_id("counter").inner_text() == "1"
        after = page.get_by_test_id("draw-area").bounding_box()
        assert after == before, "the box stays where it was after the first letter"
        assert inside_viewport(page, "next") and inside_viewport(page, "finish")
        assert status_cut_off(page) == [], "the status says all it has, the drawing counted"
        page.wait_for_timeout(600)
        screenshot(page, f"layout-{lang}-{width}-after-first")
        assert not page.errors
    finally:
        context.close()


def test_the_finish_dialog_fits_a_320_px_phone_in_french(live, browser):
    context = phone_context(browser, 320, 568, "fr-FR")
    try:
        page = open_drawing_page(context, live.url + "/fr/")
        finish = page.get_by_test_id("finish")
        assert finish.is_disabled(), "Finish waits for the first letter"
        cdp = context.new_cdp_session(page)
        touch_stroke(page, cdp, line((0.5, 0.15), (0.5, 0.85)))
        press_next(page)
        assert finish.is_enabled()
        page.wait_for_timeout(2600)  # the first reward has gone
        finish.tap()
        for test_id in ("send", "skip"):
            assert inside_viewport(page, test_id), f"{test_id} is on screen"
        screenshot(page, "layout-fr-320-finish-dialog")
    finally:
        context.close()


@pytest.mark.parametrize(
    ("lang", "count", "expected"),
    [
        ("en", 1, "You drew 1 letter."),
        ("en", 7, "You drew 7 letters."),
        ("fr", 1, "Vous avez dessiné 1\u00a0lettre."),
        ("fr", 2, "Vous avez dessiné 2\u00a0lettres."),
        ("ru", 1, "Вы нарисовали 1 букву."),
        ("ru", 3, "Вы нарисовали 3 буквы."),
        ("ru", 5, "Вы нарисовали 5 букв."),
        ("ru", 21, "Вы нарисовали 21 букву."),
        ("de", 1, "Du hast 1 Buchstaben gezeichnet."),
        ("zh", 2, "您画了 2 个字母。"),
    ],
)
def test_the_thanks_page_counts_in_the_language_s_plural_forms(
    live, desktop, lang, count, expected
):
    page = desktop.new_page()
    page.add_init_script(f"localStorage.setItem('comnist:count', '{count}')")
    page.goto(f"{live.url}/{lang}/thanks.html")
    assert page.get_by_test_id("thanks-count").inner_text() == expected


def test_the_thanks_page_never_says_zero_letters(live, desktop):
    page = desktop.new_page()
    page.goto(live.url + "/en/thanks.html")
    text = page.get_by_test_id("thanks-count").inner_text()
    assert "0" not in text and "Draw a letter" in text


def french_text_faults(text: str) -> list[str]:
    """Places where French typography wants a no-break space before ``: ; ! ?`` and has none."""
    return [m.group(0) for m in re.finditer(r".{0,12}(?<![\u00a0\u202f])[:;!?]", text)]


def test_french_pages_put_a_no_break_space_before_double_punctuation(live, desktop):
    page = open_drawing_page(desktop, live.url + "/fr/")
    draw_with_mouse(page, [(0.5, 0.2), (0.5, 0.8)])
    page.get_by_test_id("next").click()
    page.wait_for_timeout(2600)
    texts = [page.locator("body").inner_text()]
    page.get_by_test_id("finish").click()
    texts.append(page.locator("#finish-dialog").inner_text())
    page.get_by_test_id("skip").click()
    page.wait_for_url("**/fr/thanks.html")
    texts.append(page.locator("body").inner_text())
    page.goto(live.url + "/fr/about.html")
    texts.append(page.locator("body").inner_text())
    faults = [fault for text in texts for fault in french_text_faults(text)]
    assert not faults, faults
    assert "\u00a0:" in texts[0], "the labels' colons are French too"


def test_an_alphabet_badge_says_which_alphabet_the_letter_is_from(live, desktop):
    page = open_drawing_page(desktop, live.url + "/en/")
    assert page.get_by_test_id("alphabet-badge").inner_text().strip().lower() == "latin"
    page = open_drawing_page(desktop, live.url + "/en/?alphabet=cyrillic")
    badge = page.get_by_test_id("alphabet-badge")
    assert badge.inner_text().strip().lower() == "cyrillic" and badge.is_visible()
    assert re.fullmatch("[А-ЯЁ]", page.get_by_test_id("prompt-letter").inner_text().strip())
    screenshot(page, "layout-en-desktop-cyrillic-badge")
