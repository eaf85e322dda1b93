"""Helpers for the browser tests."""

from __future__ import annotations

import time
from pathlib import Path

from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
# Headless Debian Chromium as the tests and the site benchmark launch it.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


def screenshot(page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def line(start, end, steps: int = 24) -> list[tuple[float, float]]:
    return [
        (start[0] + (end[0] - start[0]) * i / steps, start[1] + (end[1] - start[1]) * i / steps)
        for i in range(steps + 1)
    ]


def touch_stroke(page, cdp, points: list[tuple[float, float]], touch_id: int = 1) -> None:
    """Draw one stroke with a finger: ``points`` are fractions of the drawing area."""
    box = page.get_by_test_id("draw-area").bounding_box()

    def at(p):
        return {
            "x": box["x"] + p[0] * box["width"],
            "y": box["y"] + p[1] * box["height"],
            "id": touch_id,
        }

    cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [at(points[0])]})
    for p in points[1:]:
        cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [at(p)]})
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    # A finger takes a moment to reach a button; Chromium drops a tap that follows a gesture at once.
    # The moment counts from when the page has handled the gesture (a frame later), which on a
    # busy machine is well after the events were sent.
    page.evaluate("new Promise(resolve => requestAnimationFrame(() => resolve()))")
    page.wait_for_timeout(500)


def press_next(page, attempts: int = 3) -> None:
    """Tap Next as a finger does, and wait until the page has taken the drawing (the counter moves).

    On a busy machine Chromium now and then drops a tap that follows a touch gesture, even half
    a second after it; a person taps again, and so does this. A second tap cannot send twice: once
    the drawing is taken the box is empty and Next is disabled.
    """
    before = page.get_by_test_id("counter").inner_text()
    for _ in range(attempts):
        page.get_by_test_id("next").tap()
        try:
            page.wait_for_function(
                "before => document.querySelector('[data-testid=counter]').textContent !== before",
                arg=before,
                timeout=5000,
            )
            return
        except PlaywrightTimeoutError:
            continue
    raise AssertionError(f"Next was tapped {attempts} times and the drawing was never taken")


def draw_with_mouse(page, points: list[tuple[float, float]]) -> None:
    """One mouse stroke through ``points``, fractions of the drawing area."""
    box = page.get_by_test_id("draw-area").bounding_box()
    page.mouse.move(box["x"] + points[0][0] * box["width"], box["y"] + points[0][1] * box["height"])
    page.mouse.down()
    for start, end in zip(points, points[1:], strict=False):
        for x, y in line(start, end, 12)[1:]:
            page.mouse.move(box["x"] + x * box["width"], box["y"] + y * box["height"])
    page.mouse.up()


def wait_for(condition, timeout: float = 20.0, what: str = "condition", page=None):
    """Poll ``condition``; with a ``page``, wait inside Playwright so its route handlers run."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        if page is None:
            time.sleep(0.2)
        else:
            page.wait_for_timeout(200)
    raise AssertionError(f"timed out waiting for {what}")


def canvas_ink_at(page, fx: float, fy: float) -> int:
    """Alpha of the drawing canvas at a fractional position (what the participant sees)."""
    return page.evaluate(
        """([fx, fy]) => { const c = document.querySelector('[data-testid=draw-area]');
             const d = c.getContext('2d').getImageData(Math.floor(fx * c.width), Math.floor(fy * c.height), 1, 1).data;
             return d[3]; }""",
        [fx, fy],
    )


def open_drawing_page(context, url: str):
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(url)
    page.get_by_test_id("prompt-letter").wait_for()
    page.wait_for_load_state("networkidle")
    page.errors = errors
    return page


AXE = (
    Path(__file__).resolve().parents[2]
    / "build"
    / "node"
    / "node_modules"
    / "axe-core"
    / "axe.min.js"
)
# Reported by the page itself: every Content-Security-Policy violation, whatever its directive.
CSP_WATCH = """document.addEventListener('securitypolicyviolation', (e) => window.cspViolation({
  directive: e.effectiveDirective, blocked: e.blockedURI, source: e.sourceFile,
  line: e.lineNumber, sample: e.sample}));"""


def guard_csp(context) -> list[dict]:
    """Collect the context's CSP violations (reported events and "Refused to" console errors)."""
    violations: list[dict] = []

    def report(source, violation) -> None:
        violations.append({**violation, "page": source["page"].url})

    context.expose_binding("cspViolation", report)
    context.add_init_script(CSP_WATCH)

    def console(message) -> None:
        if message.type == "error" and "Content Security Policy" in message.text:
            violations.append({"console": message.text})

    context.on("console", console)
    return violations


def axe_violations(page, context_selector: str | None = None) -> list[dict]:
    """axe-core's violations on the page as it is now (the file ``make axe`` installs).

    axe is evaluated through the DevTools protocol, which a page's CSP does not govern: a
    ``<script>`` tag would itself be a violation of the CSP under test.
    """
    if not AXE.is_file():
        raise AssertionError(f"{AXE} is missing: run `make axe` (make test does)")
    if not page.evaluate("typeof window.axe === 'object'"):
        page.evaluate(AXE.read_text(encoding="utf-8") + "\n;0")
    results = page.evaluate(
        """(selector) => axe.run(selector ? document.querySelector(selector) : document,
             {resultTypes: ['violations']}).then(r => r.violations.map(v => ({
               id: v.id, impact: v.impact, help: v.help,
               nodes: v.nodes.map(n => n.target.join(' ') + ': ' + n.failureSummary)})))""",
        context_selector,
    )
    return results
