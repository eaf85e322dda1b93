"""Sanitizer benchmarks: event-path scoring and bulk rescoring against PNG decoding alone; memory.

    python benchmarks/sanitizer_bench.py --samples ../shared/data [--rescore 2000]

Prints figures, each beside a baseline measured in the same run.
"""

from __future__ import annotations

import argparse
import io
import resource
import tempfile
import time
import tracemalloc
from pathlib import Path

from PIL import Image

from chalicelib import sanitizing
from chalicelib.keys import DrawingRef
from chalicelib.storage import LocalStorage
from comnist.evaluation import load_genuine
from sanitizer import Sample, extract, fit_models, score_drawing


def rate(count: int, seconds: float) -> str:
    return f"{count / seconds:,.0f}/s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--samples", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data"
    )
    parser.add_argument(
        "--rescore", type=int, default=2000, help="drawings in the bulk-rescoring store"
    )
    parser.add_argument(
        "--stream", type=int, default=100_000, help="drawings scored for the memory figure"
    )
    parser.add_argument(
        "--refit", type=int, default=100_000, help="drawings in the refit measured for memory"
    )
    args = parser.parse_args()
    genuine = load_genuine(args.samples / "comnist-sample" / "cyrillic")
    pngs = [(name, letter, png) for name, letter, png in genuine]

    start = time.perf_counter()
    samples = [extract(png, name, "cyrillic", letter) for name, letter, png in pngs]
    extract_seconds = time.perf_counter() - start
    start = time.perf_counter()
    model = fit_models([s for s in samples if s is not None])
    fit_seconds = time.perf_counter() - start
    print(
        f"fit on {len(samples)} drawings: features {extract_seconds:.1f} s, models {fit_seconds:.1f} s; "
        f"model JSON {len(model.to_json()) / 1e6:.1f} MB"
    )

    subset = pngs[:1500]
    decode, scoring = event_path_seconds(subset, model)
    print(
        f"event-path scoring (decode + features + both models), one core: {rate(len(subset), scoring)}"
    )
    print(
        f"  baseline, PNG decode alone: {rate(len(subset), decode)} -> scoring costs {scoring / decode:.1f}x a decode"
    )

    with tempfile.TemporaryDirectory() as tmp:
        store = LocalStorage(Path(tmp) / "drawings")
        for i in range(args.rescore):
            name, letter, png = pngs[i % len(pngs)]
            ref = DrawingRef("cyrillic", letter, f"{i:08x}-0000-4000-8000-{i:012x}")
            store.put(ref.png_key, png, content_type="image/png")
        store.put("models/current.json", b"{}")  # replaced below
        from chalicelib.keys import MODELS_CURRENT_KEY, model_key

        store.put(model_key(model.version), model.to_json())
        store.put_json(
            MODELS_CURRENT_KEY, {"version": model.version, "key": model_key(model.version)}
        )
        for workers in (1, 2):
            start = time.perf_counter()
            counts = sanitizing.rescore(store, workers=workers, resume=False)
            seconds = time.perf_counter() - start
            print(
                f"bulk rescoring of a local store, {workers} worker(s): {rate(args.rescore, seconds)} {counts}"
            )
        start = time.perf_counter()
        sanitizing.rescore(store, workers=2, resume=True)
        print(
            f"  resumed run with nothing left to do: {rate(args.rescore, time.perf_counter() - start)}"
        )

    tracemalloc.start()
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    checkpoints = {}
    for i in range(args.stream):
        name, letter, png = pngs[i % len(pngs)]
        score_drawing(png, None, model, alphabet="cyrillic", letter=letter, drawing_id=f"new-{i}")
        if i + 1 in (1_000, 10_000, args.stream):
            checkpoints[i + 1] = tracemalloc.get_traced_memory()[1] / 1e6
    tracemalloc.stop()
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        "peak traced memory while scoring a stream: "
        + ", ".join(f"{n:,} drawings {mb:.1f} MB" for n, mb in checkpoints.items())
    )
    print(
        f"  process max RSS {rss_before / 1024:.0f} MB before, {rss_after / 1024:.0f} MB after {args.stream:,} drawings"
    )
    measure_refit(samples, args.refit)


def event_path_seconds(pngs: list[tuple[str, str, bytes]], model) -> tuple[float, float]:
    """Seconds to decode the PNGs alone, then to score them as the event path does."""
    start = time.perf_counter()
    for _, _, png in pngs:
        Image.open(io.BytesIO(png)).convert("RGBA").load()
    decode = time.perf_counter() - start
    start = time.perf_counter()
    # New uploads were never trained on, so the event path judges them by every fold's classifier.
    for name, letter, png in pngs:
        score_drawing(
            png, None, model, alphabet="cyrillic", letter=letter, drawing_id=f"new-{name}"
        )
    return decode, time.perf_counter() - start


def measure_refit(samples: list, count: int) -> None:
    """Refit on ``count`` drawings (the real samples repeated under new ids), with peak memory.

    The baseline is the memory of the samples themselves, which any refit must hold.
    """
    real = [s for s in samples if s is not None]
    many = [
        Sample(
            f"r{i:07d}",
            s.alphabet,
            s.letter,
            s.features.copy(),
            s.picture.copy(),
        )
        for i, s in ((i, real[i % len(real)]) for i in range(count))
    ]
    held = sum(s.features.nbytes + s.picture.nbytes for s in many) / 1e6
    tracemalloc.start()
    start = time.perf_counter()
    model = fit_models(many)
    seconds = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1] / 1e6
    tracemalloc.stop()
    print(
        f"refit on {count:,} drawings: {seconds:.0f} s, peak traced memory {peak:.0f} MB"
        f" beside {held:.0f} MB of samples held ({peak / held:.1f}x);"
        f" model JSON {len(model.to_json()) / 1e6:.1f} MB"
    )


if __name__ == "__main__":
    main()
