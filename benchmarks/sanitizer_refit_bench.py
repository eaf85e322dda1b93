"""The scheduled refit's cost as the collection grows: time and peak memory at 10,000, 100,000 and
1,000,000 drawings, bounded sample against reading everything; F1 with the sample against F1
with everything.

    python benchmarks/sanitizer_refit_bench.py --samples ../shared/data [--per-letter 300]

The stores are synthetic: they list any number of drawing keys (the 33 Cyrillic letters, ids
made up), from any point as S3 does, and serve each one as a real 2017 drawing, counting what is
listed and decoded; nothing is held for the keys a refit skips. The baseline, measured in the
same run, is the refit that reads every drawing (at the sizes where it finishes in reasonable
time). ``--epochs`` and ``--rows`` shorten the letter classifier's training, whose size is
capped by ``TARGET_ROWS`` (100,000 rows) whatever the collection: a constant the curve does not
depend on.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import time
import tracemalloc
import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from chalicelib import sanitizing
from chalicelib.keys import DrawingRef, parse_drawing_key
from chalicelib.storage import NotFound, ObjectInfo, PreconditionFailed, Storage, StoredObject
from comnist.evaluation import (
    inject_junk,
    load_doodles,
    load_genuine,
    metrics,
    split_by_writer,
)
from comnist.release.importer import content_id
from sanitizer import extract, fit_models, score_drawing
from sanitizer.sampling import bounded_sample


class SyntheticStore(Storage):
    """``count`` drawings, each letter's share of them spread evenly over the space of ids.

    A letter with ``m`` real drawings gets ``count * m / n`` synthetic ones; its ``j``-th id is
    ``j`` steps of ``2**128 / k`` and is served as the letter's real drawing ``j % m``. Keys are
    computed on demand, so a listing can start anywhere (``start_after``) and nothing is held
    per key; ``decoded`` counts the drawings read, ``listed`` the keys listed.
    """

    name = "synthetic"

    def __init__(self, count: int, drawings: list[tuple[str, str, bytes]]):
        self.decoded = 0
        self.listed = 0
        self.saved: dict[str, bytes] = {}
        self.real: dict[str, list[bytes]] = {}
        for _, letter, png in drawings:
            self.real.setdefault(letter, []).append(png)
        self.folders = sorted(
            (
                DrawingRef("cyrillic", letter, str(uuid.UUID(int=0))).png_key.rpartition("/")[0]
                + "/",
                letter,
            )
            for letter in self.real
        )
        self.sizes = {
            letter: max(1, count * len(pngs) // len(drawings)) for letter, pngs in self.real.items()
        }

    def _step(self, letter: str) -> int:
        return (1 << 128) // self.sizes[letter]

    def list_keys(self, prefix: str = "", start_after: str = "") -> Iterator[str]:
        for folder, letter in self.folders:
            if not (folder.startswith(prefix) or prefix.startswith(folder)):
                continue
            first = 0
            if start_after.startswith(folder):
                after = uuid.UUID(start_after[len(folder) :].removesuffix(".png")).int
                first = after // self._step(letter) + 1
            elif start_after > folder:
                continue
            for j in range(first, self.sizes[letter]):
                key = f"{folder}{uuid.UUID(int=j * self._step(letter))}.png"
                if key.startswith(prefix) and key > start_after:
                    self.listed += 1
                    yield key

    def get(self, key: str) -> StoredObject:
        if key in self.saved:
            data = self.saved[key]
        elif key.startswith("drawings/"):
            ref = parse_drawing_key(key)
            self.decoded += 1
            pngs = self.real[ref.letter]
            data = pngs[uuid.UUID(ref.id).int // self._step(ref.letter) % len(pngs)]
        else:
            raise NotFound(key)
        return StoredObject(ObjectInfo(key, len(data), '"x"', "application/octet-stream"), data)

    def get_tags(self, key: str) -> dict[str, str]:
        return {}

    def put(self, key: str, data: bytes, *, if_none_match: bool = False, **options) -> str:
        if if_none_match and key in self.saved:
            raise PreconditionFailed(key)
        self.saved[key] = data
        return '"x"'

    def head(self, key: str) -> ObjectInfo | None:
        return None

    def put_tags(self, key: str, tags: dict[str, str]) -> None:
        raise NotImplementedError

    def delete(self, key: str) -> None:
        raise NotImplementedError


def measure(
    count: int, drawings, per_letter: int | None, epochs: int, rows: int
) -> tuple[float, float, int, int]:
    """``(seconds, peak MB, drawings decoded, keys listed)`` of one refit, run in this process.

    Time is measured without tracing (tracemalloc slows every allocation, the listing's most of
    all), then the Python heap's peak in a second, traced refit of the same store.
    """
    seconds = 0.0
    for traced in (False, True):
        store = SyntheticStore(count, drawings)
        if traced:
            tracemalloc.start()
        start = time.perf_counter()
        sanitizing.refit(
            store,
            workers=2,
            per_letter=per_letter or count,
            classifier_epochs=epochs,
            classifier_rows=rows,
        )
        if not traced:
            seconds = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1] / 1e6
    tracemalloc.stop()
    return seconds, peak, store.decoded, store.listed


def f1_sample_against_everything(
    samples_root: Path, per_letter: int, epochs: int, rows: int
) -> None:
    """One writer split of the real drawings with 5 % junk: fit on all training drawings, or on
    a bounded sample of them, and score the same held-out writers."""
    rng = random.Random(0)
    genuine = load_genuine(samples_root / "comnist-sample" / "cyrillic")
    doodles = load_doodles(samples_root / "quickdraw-sample" / "doodles.ndjson")
    folds = [fold + inject_junk(fold, doodles, rng) for fold in split_by_writer(genuine, 7)]
    test, training = folds[0], [item for fold in folds[1:] for item in fold]
    extracted = [extract(item.png, item.id, "cyrillic", item.letter) for item in training]
    everything = [s for s in extracted if s is not None]
    starts = {"sample": str(uuid.UUID(int=0)), "sample-b": str(uuid.UUID(int=1 << 127))}
    # Stored drawings have UUIDs; the 2017 names become the importer's content ids.
    ids = {s.id: content_id(hashlib.sha256(s.id.encode()).digest()) for s in everything}
    for sample_name, start in starts.items():
        chosen = bounded_sample((((s.letter,), ids[s.id]) for s in everything), start, per_letter)
        sample = [s for s in everything if ids[s.id] in chosen]
        for name, training_set in ((sample_name, sample), ("everything", everything)):
            if name == "everything" and sample_name != "sample":
                continue
            model = fit_models(training_set, classifier_epochs=epochs, classifier_rows=rows)
            verdicts = [
                score_drawing(
                    item.png,
                    None,
                    model,
                    alphabet="cyrillic",
                    letter=item.letter,
                    drawing_id=item.id,
                )
                for item in test
            ]
            flagged = np.array([v.status in ("suspicious", "invalid") for v in verdicts])
            positive = np.array([item.kind != "genuine" for item in test])
            m = metrics(flagged, flagged.astype(float), positive)
            print(
                f"  fit on {name:12} ({len(training_set):,} drawings): F1 {m['f1']:.3f}"
                f" (precision {m['precision']:.3f}, recall {m['recall']:.3f}) on {len(test)} held out"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--samples", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data"
    )
    parser.add_argument("--per-letter", type=int, default=300)
    parser.add_argument("--epochs", type=int, default=2, help="letter classifier epochs")
    parser.add_argument("--rows", type=int, default=10_000, help="letter classifier rows")
    parser.add_argument("--f1-rows", type=int, default=30_000)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument(
        "--everything-up-to", type=int, default=100_000, help="largest unbounded baseline"
    )
    parser.add_argument("--f1-per-letter", type=int, default=60)
    parser.add_argument("--f1-epochs", type=int, default=10)
    parser.add_argument("--skip-f1", action="store_true")
    args = parser.parse_args()
    drawings = load_genuine(args.samples / "comnist-sample" / "cyrillic")
    print(f"refit, bounded sample of {args.per_letter} a letter (33 letters), against everything:")
    for count in args.sizes:
        seconds, peak, decoded, listed = measure(
            count, drawings, args.per_letter, args.epochs, args.rows
        )
        line = (
            f"  {count:>9,} drawings: sample {seconds:6.1f} s, peak {peak:6.0f} MB,"
            f" {listed:,} listed, {decoded:,} decoded"
        )
        if count <= args.everything_up_to:
            all_seconds, all_peak, all_decoded, _ = measure(
                count, drawings, None, args.epochs, args.rows
            )
            line += (
                f" | everything {all_seconds:6.1f} s, peak {all_peak:6.0f} MB,"
                f" {all_decoded:,} decoded -> sample costs {seconds / all_seconds:.2f}x the time,"
                f" {peak / all_peak:.2f}x the memory"
            )
        print(line, flush=True)
    if not args.skip_f1:
        print(f"F1 with a sample of {args.f1_per_letter} a letter against everything:")
        f1_sample_against_everything(args.samples, args.f1_per_letter, args.f1_epochs, args.f1_rows)


if __name__ == "__main__":
    main()
