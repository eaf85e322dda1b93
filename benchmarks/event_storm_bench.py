"""Event storm on S3 (moto): drawings across every letter, each event delivered 1-3 times at once.

    python benchmarks/event_storm_bench.py [--drawings 2000] [--workers 32]

S3 delivers each "object created" event at least once, and Lambda runs many handlers at the same
time. This stores the drawings, then delivers every event one to three times in a random order
from a pool of concurrent handlers, and checks that every letter's count is exact. The baseline
is the same handler run once per drawing, one at a time, in the same run.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # the moto harness that makes each S3 request atomic


def synthetic_body(rng: random.Random, alphabet: str, letter: str) -> dict:
    """A plausible drawing: two to four strokes of 5-40 points on a 360 px canvas."""
    strokes, t = [], 0
    for _ in range(rng.randint(2, 4)):
        points = rng.randint(5, 40)
        x, y = rng.uniform(40, 320), rng.uniform(40, 320)
        xs, ys, ts = [], [], []
        for _ in range(points):
            x = min(350.0, max(10.0, x + rng.uniform(-12, 12)))
            y = min(350.0, max(10.0, y + rng.uniform(-12, 12)))
            t += rng.randint(8, 20)
            xs.append(round(x, 1))
            ys.append(round(y, 1))
            ts.append(t)
        strokes.append([xs, ys, ts])
        t += 150
    return {
        "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "session": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "alphabet": alphabet,
        "letter": letter,
        "strokes": strokes,
        "canvas": {"width": 360, "height": 360},
    }


def store_drawings(store, count: int, rng: random.Random) -> list:
    from chalicelib import intake
    from chalicelib.alphabets import alphabets
    from chalicelib.keys import DrawingRef
    from chalicelib.validation import validate_drawing

    letters = [(a.id, letter) for a in alphabets().values() for letter in a.letters]
    refs = []
    for i in range(count):
        alphabet, letter = letters[i % len(letters)]
        body = synthetic_body(rng, alphabet, letter)
        intake.submit_drawing(store, validate_drawing(body))
        refs.append(DrawingRef(alphabet, letter, body["id"]))
    return refs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--drawings", type=int, default=2000)
    parser.add_argument("--baseline", type=int, default=200, help="drawings in the baseline")
    parser.add_argument("--workers", type=int, default=32, help="concurrent handlers")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    os.environ.update(
        AWS_DEFAULT_REGION="us-east-1", AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench"
    )
    import logging

    import moto

    from moto_atomic import atomic_moto_requests

    logging.disable(logging.INFO)
    with moto.mock_aws(), atomic_moto_requests():
        import boto3

        from chalicelib import config
        from chalicelib.stats import count_uncounted, counted_ids, public_stats
        from chalicelib.storage import S3Storage
        from comnist.local import LambdaContext, load_app, s3_object_created_event

        client = boto3.client("s3", region_name="us-east-1")
        for bucket in ("baseline", "storm", "contributors"):
            client.create_bucket(Bucket=bucket)
        contributors = S3Storage("contributors", client)
        app_module = load_app()
        rng = random.Random(args.seed)

        def deliver(store, ref) -> None:
            info = store.head(ref.png_key)
            event = s3_object_created_event(store.name, ref.png_key, info.size, info.etag)
            app_module.on_new_drawing(event, LambdaContext())

        baseline = S3Storage("baseline", client)
        config.use_stores(baseline, contributors)
        refs = store_drawings(baseline, args.baseline, rng)
        start = time.perf_counter()
        for ref in refs:
            deliver(baseline, ref)
        per_event = (time.perf_counter() - start) / len(refs)
        print(
            f"baseline: {len(refs)} events, each delivered once, one at a time: "
            f"{per_event * 1000:.1f} ms/event = {1 / per_event:.0f} events/s"
        )

        storm = S3Storage("storm", client)
        config.use_stores(storm, contributors)
        start = time.perf_counter()
        refs = store_drawings(storm, args.drawings, rng)
        print(f"stored {len(refs)} drawings on moto in {time.perf_counter() - start:.1f} s")
        deliveries = [ref for ref in refs for _ in range(rng.randint(1, 3))]
        rng.shuffle(deliveries)
        start = time.perf_counter()
        with ThreadPoolExecutor(args.workers) as pool:
            list(pool.map(lambda ref: deliver(storm, ref), deliveries))
        wall = time.perf_counter() - start
        rate = len(deliveries) / wall
        print(
            f"storm: {len(deliveries)} deliveries of {len(refs)} events ({len(deliveries) / len(refs):.2f} "
            f"per drawing) from {args.workers} concurrent handlers in {wall:.1f} s"
        )
        print(
            f"  throughput {rate:.0f} deliveries/s = {len(refs) / wall:.0f} drawings/s; "
            f"{rate * per_event:.2f}x the one-at-a-time baseline"
        )

        expected = Counter((ref.alphabet, ref.letter) for ref in refs)
        stats = public_stats(storm, 1000)["alphabets"]
        wrong = {
            pair: (stats[pair[0]]["letters"][pair[1]], want)
            for pair, want in expected.items()
            if stats[pair[0]]["letters"][pair[1]] != want
        }
        total = sum(alphabet["total"] for alphabet in stats.values())
        late = count_uncounted(storm, "now")
        markers = len(counted_ids(storm))
        print(
            f"  counted {total} of {len(refs)} drawings in {len(expected)} letters; letters off: "
            f"{len(wrong)}; count markers {markers}; counted late by the scheduled job: {late}"
        )
        if wrong or total != len(refs) or late or markers != len(refs):
            raise SystemExit(f"counts are not exact: {wrong}")


if __name__ == "__main__":
    main()
