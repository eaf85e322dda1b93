"""The review desk and the collection report at scale, on synthetic stores, against baselines.

1. Opening the desk (its letter menu and a letter's first page) with 10, 40 and 10,000 flagged
   drawings of one letter: CPU seconds per view on a local store, and the requests a view makes
   on S3 (moto, in-process; moto's own CPU says nothing about S3). Baseline in the same run: what ``comnist review`` did before the
   desk, list every drawing and read its tags to find the flagged ones.
2. ``comnist report`` at 100,000 drawings on a local store: cold (every record read once), warm
   (records' facts from the cache), beside the baseline of reading each drawing's tags, verdict
   and record (``comnist list``, the only way to count the collection before the report).

    .venv/bin/python benchmarks/desk_bench.py
    .venv/bin/python benchmarks/desk_bench.py --flagged 10,40,10000 --drawings 100000
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from chalicelib import flagged
from chalicelib.alphabets import alphabets
from chalicelib.keys import DrawingRef
from chalicelib.raster import render_png
from chalicelib.storage import LocalStorage, S3Storage, Storage
from comnist.desk import queue
from comnist.desk.collection import FactsCache, gather
from comnist.inventory import iter_drawings

PNG = render_png([[[40.0, 260.0], [40.0, 260.0], [0.0, 100.0]]], 300, 300)


def cpu(action: Callable[[], object], repeat: int = 1) -> float:
    """CPU seconds (this process, all threads) per run of ``action``."""
    started = time.process_time()
    for _ in range(repeat):
        action()
    return (time.process_time() - started) / repeat


def quick_put(store: Storage, key: str, data: bytes, tags: dict | None = None) -> None:
    """Store an object; on a local store, its files written directly (no lock, no checks).

    The layout is :class:`LocalStorage`'s: the data at its key, ``.meta/`` and ``.tags/`` beside.
    Writing 100,000 drawings through the locked path takes most of an hour on a busy machine.
    """
    if not isinstance(store, LocalStorage):
        store.put(key, data, tags=tags)
        return
    for area, content in (
        ("", data),
        (".tags", json.dumps(tags).encode() if tags else None),
        (".meta", b'{"content_type": "application/octet-stream", "metadata": {}}'),
    ):
        if content is None:
            continue
        path = store.root / area / (key + (".json" if area else ""))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)


def add_flagged(store: Storage, count: int, rng: random.Random) -> None:
    """``count`` flagged drawings of the Latin T, each with its tags and its queue marker."""
    for _ in range(count):
        ref = DrawingRef("latin", "T", str(uuid.UUID(int=rng.getrandbits(128), version=4)))
        tags = {"status": "suspicious", "score": f"{rng.uniform(0, 9):.3f}", "reasons": "filled"}
        quick_put(store, ref.png_key, PNG, tags)
        quick_put(store, flagged.marker_key(ref, tags), b"{}")


def open_desk(store: Storage) -> None:
    queue.letters_in_queue(store)
    queue.review_page(store, "latin", "T")


def old_review(store: Storage) -> None:
    sum(1 for row in iter_drawings(store) if row["status"] in ("suspicious", "invalid"))


@contextlib.contextmanager
def s3_store(name: str):
    import boto3
    import moto

    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    with moto.mock_aws():
        client = boto3.client("s3")
        client.create_bucket(Bucket=name)
        calls: list[str] = []
        client.meta.events.register("before-call.s3.*", lambda model, **_: calls.append(model.name))
        yield S3Storage(name, client), calls


def desk_figures(sizes: list[int], on_s3: bool) -> None:
    where = "S3 (moto)" if on_s3 else "local store"
    print(f"\nOpening the desk (letter menu + first page of 40), {where}")
    print(f"{'flagged':>8} {'desk CPU s':>11} {'S3 requests':>12} {'old review CPU s':>17}")
    first = None
    for size in sizes:
        rng = random.Random(size)
        with contextlib.ExitStack() as stack:
            if on_s3:
                store, calls = stack.enter_context(s3_store(f"bench-{size}"))
            else:
                root = Path(stack.enter_context(tempfile.TemporaryDirectory()))
                store, calls = LocalStorage(root), []
            add_flagged(store, size, rng)
            open_desk(store)  # warm the file cache and imports alike for every size
            calls.clear()
            open_desk(store)
            requests = len(calls)
            if not on_s3:  # moto's CPU is the fake server's, not the desk's
                desk = cpu(lambda store=store: open_desk(store), repeat=5)
                baseline = cpu(lambda store=store: old_review(store))
        if size >= queue.PAGE_SIZE and first is None:  # a full page: the same cards to show
            first = requests if on_s3 else desk
        if on_s3:
            print(f"{size:>8,} {'-':>11} {requests:>12} {'-':>17}")
        else:
            print(f"{size:>8,} {desk:>11.4f} {'-':>12} {baseline:>17.3f}")
    if first:
        last = requests if on_s3 else desk
        what = "S3 requests" if on_s3 else "desk CPU"
        print(f"{what}, {sizes[-1]:,} flagged against a full page's worth: {last / first:.2f}")


def add_collection(root: Path, count: int, seed: int = 2) -> LocalStorage:
    """``count`` drawings with records (three strokes each), 5 % flagged, 0.5 % judged."""
    store = LocalStorage(root)
    rng = random.Random(seed)
    letters = [(a.id, letter) for a in alphabets().values() for letter in a.letters]
    sessions = [str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in range(count // 20)]
    for n in range(count):
        alphabet, letter = letters[rng.randrange(len(letters))]
        ref = DrawingRef(alphabet, letter, str(uuid.UUID(int=rng.getrandbits(128), version=4)))
        strokes = [[[rng.uniform(20, 280) for _ in range(12)] for _ in range(3)] for _ in range(3)]
        record = {
            "id": ref.id,
            "session": sessions[rng.randrange(len(sessions))],
            "alphabet": alphabet,
            "letter": letter,
            "strokes": strokes,
            "canvas": {"width": 300, "height": 300},
            "created": f"2026-{1 + n % 12:02d}-{1 + n % 28:02d}T12:00:00.000Z",
            "country": rng.choice(["RU", "UA", "KZ", "FR", "DE", "US", None]),
            "age_group": rng.choice(["child", "adult", None]),
        }
        tags = {"status": "ok", "score": "-1"}
        if n % 20 == 0:
            tags = {
                "status": "suspicious",
                "score": f"{rng.uniform(0, 9):.3f}",
                "reasons": "filled",
            }
        quick_put(store, ref.record_key, json.dumps(record).encode())
        quick_put(store, ref.png_key, PNG, tags)
        if n % 20 == 0:
            quick_put(store, flagged.marker_key(ref, tags), b"{}")
        if n % 200 == 0:
            quick_put(store, ref.verdict_key, b'{"verdict": "rejected"}')
    return store


def report_figures(count: int) -> None:
    print(f"\nThe collection report at {count:,} drawings, local store")
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        started = time.monotonic()
        store = add_collection(root / "drawings", count)
        print(f"(store written in {time.monotonic() - started:.0f} s)")
        cache_path = root / "facts.json"
        cold = cpu(lambda: gather(store, 1000, FactsCache(cache_path)))
        warm = cpu(lambda: gather(store, 1000, FactsCache(cache_path)), repeat=3)
        baseline = cpu(lambda: sum(1 for _ in iter_drawings(store)))
    print(f"{'report, first run (reads every record)':<48} {cold:>8.2f} CPU s")
    print(f"{'report, later runs (facts cached)':<48} {warm:>8.2f} CPU s")
    print(f"{'baseline: tags, verdict and record per drawing':<48} {baseline:>8.2f} CPU s")
    print(f"ratios to the baseline: first {cold / baseline:.2f}, later {warm / baseline:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--flagged", default="10,40,10000", help="flagged drawings, comma-separated"
    )
    parser.add_argument("--drawings", type=int, default=100_000, help="the report's collection")
    parser.add_argument("--skip-s3", action="store_true")
    parser.add_argument("--skip-report", action="store_true")
    args = parser.parse_args()
    sizes = [int(size) for size in args.flagged.split(",")]
    desk_figures(sizes, on_s3=False)
    if not args.skip_s3:
        desk_figures(sizes, on_s3=True)
    if not args.skip_report:
        report_figures(args.drawings)


if __name__ == "__main__":
    main()
