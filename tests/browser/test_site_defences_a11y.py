"""The browser's own defences and a page anyone can use: every page and state of the site under
the Content-Security-Policy that ``comnist serve`` (like CloudFront) sends, with no violation
report, and with no axe-core violation."""

from __future__ import annotations

import pytest

from browserkit import (
    axe_violations,
    guard_csp,
    line,
    open_drawing_page,
    press_next,
    screenshot,
    touch_stroke,
    wait_for,
)
from comnist.security_headers import security_headers

pytestmark = pytest.mark.browser


def assert_clean(page, violations: list[dict], state: str) -> None:
    """No axe-core violation in this state, and no CSP violation so far."""
    found = axe_violations(page)
    assert found == [], f"axe-core in {state}: {found}"
    assert violations == [], f"CSP violations by {state}: {violations}"


@pytest.fixture
def guarded_phone(browser):
    context = browser.new_context(
        viewport={"width": 320, "height": 568},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        locale="ru-RU",
    )
    context.violations = guard_csp(context)
    yield context
    context.close()


@pytest.fixture
def guarded_desktop(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    context.violations = guard_csp(context)
    yield context
    context.close()


def test_every_answer_carries_the_defence_headers_and_no_hsts_on_plain_http(live, desktop):
    expected = security_headers()
    for path in ("/", "/ru/", "/en/thanks.html", "/sw.js", "/nope", "/api/stats"):
        headers = desktop.request.get(live.url + path).headers
        for name, value in expected.items():
            assert headers.get(name.lower()) == value, f"{name} on {path}"
        assert "strict-transport-security" not in headers, "HSTS is for HTTPS only"
    csp = expected["Content-Security-Policy"]
    assert "script-src 'self';" in csp and "unsafe" not in csp
    assert "img-src 'self' data: blob:" in csp and "frame-ancestors 'none'" in csp


def test_the_guard_reports_a_violation(live, guarded_desktop):
    """The watch the other tests rely on does see what the CSP refuses."""
    page = open_drawing_page(guarded_desktop, live.url + "/en/")
    page.evaluate(
        """() => { const s = document.createElement('script'); s.textContent = 'window.x = 1';
             document.body.appendChild(s); }"""
    )
    wait_for(lambda: guarded_desktop.violations, what="the violation report", page=page)
    assert page.evaluate("window.x") is None, "the inline script did not run"
    assert any(v.get("directive") == "script-src-elem" for v in guarded_desktop.violations)


def test_the_drawing_round_on_a_small_phone(live, guarded_phone):
    page = open_drawing_page(guarded_phone, live.url + "/ru/")
    assert_clean(page, guarded_phone.violations, "the drawing page")
    cdp = guarded_phone.new_cdp_session(page)
    touch_stroke(page, cdp, line((0.5, 0.15), (0.5, 0.85)))
    assert_clean(page, guarded_phone.violations, "a drawing with its guess")
    press_next(page)
    assert page.get_by_test_id("reward").is_visible()
    assert_clean(page, guarded_phone.violations, "the level-up")
    touch_stroke(page, cdp, line((0.3, 0.15), (0.6, 0.85)))
    page.get_by_test_id("finish").tap()
    page.get_by_test_id("skip").wait_for()
    assert_clean(page, guarded_phone.violations, "the finish form")
    page.get_by_test_id("skip").tap()
    page.wait_for_url("**/ru/thanks.html")
    page.get_by_test_id("my-letters").wait_for()
    page.get_by_test_id("reveal-section").wait_for()
    assert_clean(page, guarded_phone.violations, "the thanks page")
    screenshot(page, "a11y-thanks-ru-320")


@pytest.mark.parametrize("path", ["/en/about.html", "/fr/contributors.html", "/nope", "/de/"])
def test_the_other_pages(live, guarded_desktop, path):
    page = guarded_desktop.new_page()
    page.goto(live.url + path)
    page.wait_for_load_state("networkidle")
    assert_clean(page, guarded_desktop.violations, path)


def test_the_root_page_before_it_redirects(live, guarded_desktop):
    page = guarded_desktop.new_page()
    page.route(
        "**/assets/root.*.js", lambda route: route.fulfill(body="", content_type="text/javascript")
    )
    page.goto(live.url + "/")
    assert page.url == live.url + "/"
    assert_clean(page, guarded_desktop.violations, "the root page")
    page.unroute("**/assets/root.*.js")
    page.goto(live.url + "/?fr")
    page.wait_for_url("**/fr/")
    assert guarded_desktop.violations == []


def test_offline_the_page_from_the_service_worker(live, guarded_phone):
    page = open_drawing_page(guarded_phone, live.url + "/ru/")
    page.wait_for_function("navigator.serviceWorker.controller !== null", timeout=20000)
    page.wait_for_function("caches.keys().then(k => k.length === 1)", timeout=20000)
    guarded_phone.set_offline(True)
    try:
        page.reload()
        page.get_by_test_id("prompt-letter").wait_for()
        cdp = guarded_phone.new_cdp_session(page)
        touch_stroke(page, cdp, line((0.5, 0.15), (0.5, 0.85)))
        press_next(page)
        assert page.get_by_test_id("queue-status").inner_text()
        assert_clean(page, guarded_phone.violations, "the offline page")
    finally:
        guarded_phone.set_offline(False)
