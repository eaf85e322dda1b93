"""One session floods every letter with junk: new junk flagged before and after a full-size refit.

    .venv/bin/python benchmarks/poisoning_bench.py [--sessions 6] [--per-letter 4] [--flood 150]

The scenario of ``tests/test_sanitizer_poisoning.py`` (synthetic Latin letters of several
genuine sessions, then one session sending ``--flood`` lines and as many circles under every
letter), with the refit's full training instead of the test's short one. Prints the share of
new lines and circles flagged by the model before the flood, after it (the screened refit) and
by a model fitted on the same drawings unscreened, with the refit's CPU seconds.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from test_sanitizer_poisoning import (  # noqa: E402
    LETTERS,
    Collection,
    circle,
    flagged_share,
    line,
    new_id,
)

from chalicelib import sanitizing  # noqa: E402
from chalicelib.keys import parse_drawing_key  # noqa: E402
from sanitizer import extract, fit_models  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=6)
    parser.add_argument("--per-letter", type=int, default=4)
    parser.add_argument(
        "--flood", type=int, default=150, help="lines, and as many circles, a letter"
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        collection = Collection(Path(tmp), seed=25)
        collection.genuine_sessions(args.sessions, args.per_letter)
        before = sanitizing.refit(collection.store)
        flood = new_id(collection.rng)
        for letter in LETTERS:
            for shape in (line, circle):
                for _ in range(args.flood):
                    collection.send(flood, letter, shape(collection.rng))
        started = time.process_time()
        after = sanitizing.refit(collection.store)
        seconds = time.process_time() - started
        everything = [
            extract(collection.store.get(key).data, ref.id, "latin", ref.letter)
            for key in sanitizing.drawing_keys(collection.store)
            for ref in [parse_drawing_key(key)]
        ]
        unscreened = fit_models(everything)
    print(f"refit after the flood: {seconds:.0f} s CPU")
    for name, shapes in (("lines", line), ("circles", circle)):
        was, now, poisoned = (
            flagged_share(model, shapes, random.Random(name), 200)
            for model in (before, after, unscreened)
        )
        print(
            f"new {name} flagged: {was:.1%} before the flood, {now:.1%} after it, "
            f"{poisoned:.1%} after it unscreened"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
