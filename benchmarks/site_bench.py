"""The drawing site's budgets in headless Chromium: bytes of the first load, bytes of the letter
guess loaded after the first paint, and the time of one guess beside a redraw of the drawing
canvas measured in the same run.

    .venv/bin/python benchmarks/site_bench.py                 # a model of the real shape
    .venv/bin/python benchmarks/site_bench.py --data data     # the store's current model

A guess costs the same whatever its weights are, so without ``--data`` the classifiers have the
real shapes (392 inputs, 128 hidden units, every letter of each alphabet) and random weights.
"""

from __future__ import annotations

import argparse
import functools
import gzip
import http.server
import random
import statistics
import sys
import tempfile
import threading
from pathlib import Path

import numpy as np

from chalicelib.alphabets import alphabets
from chalicelib.storage import LocalStorage
from sanitizer import ModelSet
from sanitizer.classifier import HIDDEN, LetterClassifier
from sanitizer.nonletters import NOT_A_LETTER

ROOT = Path(__file__).resolve().parents[1]
RUNS = 200


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        """The benchmark prints its figures only."""


def shaped_model(seed: int = 0) -> ModelSet:
    """Cross-fitted classifiers for every alphabet with the real shapes and random weights."""
    rng = np.random.default_rng(seed)
    model = ModelSet("m-bench", "2026-01-01T00:00:00Z")
    for alphabet in alphabets().values():
        labels = [*alphabet.letters, NOT_A_LETTER]
        shapes = [(392, HIDDEN), (HIDDEN,), (HIDDEN, len(labels)), (len(labels),)]
        model.classifiers[alphabet.id] = [
            LetterClassifier(labels, *(rng.normal(0, 0.1, shape) for shape in shapes))
            for _ in range(3)
        ]
    return model


def scribbled_letter(rng: random.Random, side: float) -> list[list[list[float]]]:
    """Three strokes of about 40 points each, as a finger draws them."""
    strokes = []
    for _ in range(3):
        x, y = rng.uniform(0.2, 0.8) * side, rng.uniform(0.2, 0.8) * side
        xs, ys = [], []
        for _ in range(40):
            x = min(max(x + rng.gauss(0, side / 60), 0), side)
            y = min(max(y + rng.gauss(0, side / 60), 0), side)
            xs.append(round(x, 1))
            ys.append(round(y, 1))
        strokes.append([xs, ys, list(range(0, 400, 10))])
    return strokes


MEASURE = """(strokes) => {
  const canvas = document.querySelector('[data-testid=draw-area]');
  const ctx = canvas.getContext('2d'), side = canvas.clientWidth;
  function redraw() {
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    ctx.lineWidth = side * 15 / 278; ctx.lineCap = ctx.lineJoin = 'round';
    for (const s of strokes) { ctx.beginPath(); ctx.moveTo(s[0][0], s[1][0]);
      for (let i = 1; i < s[0].length; i++) ctx.lineTo(s[0][i], s[1][i]); ctx.stroke(); }
    ctx.getImageData(0, 0, 1, 1);  // until the pixels are there, as for a guess
  }
  const time = (f) => { const out = []; for (let i = 0; i < RUNS; i++) {
    const t = performance.now(); f(); out.push(performance.now() - t); } return out; };
  return [time(() => window.comnistRecognizer.classify(strokes, side, side)), time(redraw)];
}""".replace("RUNS", str(RUNS))


def main() -> None:
    sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "browser")]  # build_site.py, browserkit.py
    import build_site
    from browserkit import CHROMIUM_ARGS

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, help="a local store whose current model to use")
    args = parser.parse_args()
    model = build_site.site_model(LocalStorage(args.data / "drawings")) if args.data else None
    model = model or shaped_model()
    with tempfile.TemporaryDirectory() as work:
        site = build_site.build(Path(work) / "site", model=model)
        handler = functools.partial(QuietHandler, directory=str(site))
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        url = f"http://127.0.0.1:{server.server_port}"
        from playwright.sync_api import sync_playwright

        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS
            )
            page = browser.new_page(viewport={"width": 390, "height": 844})
            responses = []
            page.on("response", lambda response: responses.append(response))
            page.goto(url + "/ru/")
            page.wait_for_function(
                "() => window.comnistRecognizer && window.comnistRecognizer.alphabet"
            )
            page.wait_for_load_state("networkidle")
            sizes = {r.url: len(gzip.compress(r.body())) for r in responses if r.status == 200}
            late = sum(n for u, n in sizes.items() if "recognizer." in u or "/letters-" in u)
            first = sum(sizes.values()) - late
            side = page.evaluate("document.querySelector('[data-testid=draw-area]').clientWidth")
            strokes = scribbled_letter(random.Random(1), side)
            guesses, redraws = page.evaluate(MEASURE, strokes)
            browser.close()
        server.shutdown()
    guess, redraw = statistics.median(guesses), statistics.median(redraws)
    print(f"model {model.version}; Cyrillic page at 390 px, {RUNS} runs each")
    print(f"first load (before the guess)      {first / 1024:8.1f} KB gzip   (budget 30)")
    print(f"letter guess after the first paint {late / 1024:8.1f} KB gzip   (budget 150)")
    print(f"one guess, median                  {guess:8.2f} ms        (budget 15)")
    print(f"canvas redraw, median (baseline)   {redraw:8.3f} ms")
    print(f"guess / redraw                     {guess / max(redraw, 1e-3):8.1f}x")


if __name__ == "__main__":
    main()
