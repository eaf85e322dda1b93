"""Marks and doodles among real letters: how many stay flagged after a full-size refit.

    .venv/bin/python benchmarks/marks_bench.py [--samples ../shared/data] [--seed 0]

The 2017 Cyrillic drawings are dealt by writer into the folds of ``comnist evaluate``. Four
folds (about 108 drawings a letter) become a local collection, each drawing stored and tagged
as it arrives; beside them, under every letter, a dot, a 60 px dash and a scribble (one session
each) and two Quick, Draw! doodles of the categories the sanitizer never learns from: 5 % junk.
The letter check in force while they arrive is a starter trained as ``make starter`` trains it,
from the fonts and the fifth fold only, so it never saw these writers. Then the refit (its full
training) and a rescore, twice on copies of the same store: with the screen's junk learned as
not-a-letter (the refit as shipped), and without (``JUNK_PER_SESSION = 0``, the baseline). It
prints the marks, doodles and genuine drawings flagged on arrival and after each refit, with
the refits' CPU seconds, and how much new junk (as many marks and doodles again, never stored)
the starter and each refit's model flag.
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
import tempfile
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from scheduled_loop_bench import cpu_seconds  # noqa: E402
from test_sanitizer_poisoning import dash, dot, scribble  # noqa: E402

import sanitizer  # noqa: E402
import sanitizer.starter  # noqa: E402
from chalicelib import sanitizing  # noqa: E402
from chalicelib.keys import DrawingRef, parse_drawing_key  # noqa: E402
from chalicelib.raster import render_png  # noqa: E402
from chalicelib.storage import LocalStorage  # noqa: E402
from comnist.evaluation import (  # noqa: E402
    load_doodles,
    load_genuine,
    render_doodle,
    split_by_writer,
    starter_from,
)
from sanitizer import sampling  # noqa: E402
from sanitizer.sampling import FLAGGED_STATUSES  # noqa: E402

ALPHABET = "cyrillic"
MARKS = (dot, dash, scribble)
DOODLES_PER_LETTER = 2


def use_starter(model) -> None:
    """Make ``model`` the letter check in force while the store has none, in this process."""
    sanitizer.starter_model = sanitizer.starter.starter_model = lambda *args: model


def store_drawing(store, letter: str, drawing_id: str, png: bytes, session: str | None) -> str:
    ref = DrawingRef(ALPHABET, letter, drawing_id)
    record = {"session": session, "canvas": {"width": 300, "height": 300}}
    store.put_json(ref.record_key, record)
    store.put(ref.png_key, png, content_type="image/png")
    sanitizing.tag_drawing(store, ref.png_key)
    return ref.png_key


def flagged(store, keys: list[str]) -> int:
    return sum(store.get_tags(key).get("status") in FLAGGED_STATUSES for key in keys)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    folds = split_by_writer(load_genuine(args.samples / "comnist-sample" / ALPHABET), args.seed)
    genuine = [item for fold in folds[1:] for item in fold]
    doodles = load_doodles(args.samples / "quickdraw-sample" / "doodles.ndjson")
    started = cpu_seconds()
    use_starter(starter_from(sanitizer.starter_model(), folds[0], ALPHABET))
    print(f"starter without the collection's writers: {cpu_seconds() - started:.0f} s CPU")

    with tempfile.TemporaryDirectory() as tmp:
        shipped = Path(tmp) / "shipped"
        store = LocalStorage(shipped)
        keys: dict[str, list[str]] = {"genuine": [], "marks": [], "doodles": []}
        for item in genuine:
            drawing_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"comnist-2017/{item.id}"))
            keys["genuine"].append(store_drawing(store, item.letter, drawing_id, item.png, None))
        kinds: dict[str, str] = {}
        for letter in sorted({item.letter for item in genuine}):
            for shape in MARKS:
                png = render_png(shape(rng), 300, 300)
                key = store_drawing(store, letter, new_id(rng), png, new_id(rng))
                keys["marks"].append(key)
                kinds[key] = shape.__name__
            for strokes in rng.sample(doodles, DOODLES_PER_LETTER):
                png = render_doodle(strokes)
                keys["doodles"].append(store_drawing(store, letter, new_id(rng), png, new_id(rng)))
        junk = len(keys["marks"]) + len(keys["doodles"])
        print(
            f"{len(keys['genuine']):,} genuine drawings, {len(keys['marks'])} marks and "
            f"{len(keys['doodles'])} doodles ({junk / (junk + len(keys['genuine'])):.1%} junk)"
        )
        report("on arrival (starter)", store, keys, kinds)
        # New junk, never stored: what each model makes of marks and doodles it never saw.
        letters = sorted({item.letter for item in genuine})
        unseen = [
            (kind, letter, png)
            for letter in letters
            for kind, png in [(shape.__name__, render_png(shape(rng), 300, 300)) for shape in MARKS]
            + [("doodle", render_doodle(strokes)) for strokes in rng.sample(doodles, 2)]
        ]
        report_unseen("new junk, by the starter", sanitizing.model_in_force(store), unseen)
        baseline = Path(tmp) / "baseline"
        shutil.copytree(shipped, baseline)
        shipped_junk = sampling.JUNK_PER_SESSION
        for name, root, junk_per_session in (
            ("refit without junk learned (baseline)", baseline, 0),
            ("refit with junk learned as not-a-letter", shipped, shipped_junk),
        ):
            sampling.JUNK_PER_SESSION = junk_per_session
            copy = LocalStorage(root)
            started = cpu_seconds()
            model = sanitizing.refit(copy)
            seconds = cpu_seconds() - started
            sanitizing.rescore(copy, resume=False)
            report(f"{name}, {seconds:.0f} s CPU", copy, keys, kinds)
            report_unseen("new junk, by that refit", model, unseen)
        sampling.JUNK_PER_SESSION = shipped_junk
    return 0


def report_unseen(title: str, model, unseen: list[tuple[str, str, bytes]]) -> None:
    """The new junk of each kind that ``model`` flags, claimed as the letter it was drawn for."""
    caught: dict[str, list[int]] = {}
    for n, (kind, letter, png) in enumerate(unseen):
        verdict = sanitizer.score_drawing(
            png, None, model, alphabet=ALPHABET, letter=letter, drawing_id=f"unseen-{n}"
        )
        tally = caught.setdefault(kind, [0, 0])
        tally[0] += verdict.status in FLAGGED_STATUSES
        tally[1] += 1
    print(f"{title}: flagged " + ", ".join(f"{k} {c}/{t}" for k, (c, t) in caught.items()))


def new_id(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def report(title: str, store, keys: dict[str, list[str]], kinds: dict[str, str]) -> None:
    """The drawings of each kind flagged, and the marks let through, with their tags."""
    parts = [f"{kind} {flagged(store, found)}/{len(found)}" for kind, found in keys.items()]
    print(f"{title}: flagged " + ", ".join(parts), flush=True)
    for key in keys["marks"]:
        tags = store.get_tags(key)
        if tags.get("status") not in FLAGGED_STATUSES:
            letter = parse_drawing_key(key).letter
            print(
                f"  let through: a {kinds[key]} sent as {letter}, P(letter) {tags.get('letter_p')}"
            )


if __name__ == "__main__":
    sys.exit(main())
