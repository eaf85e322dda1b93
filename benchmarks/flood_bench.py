"""Ten ordinary sessions' latency on ``comnist serve``, with and without one session flooding it.

    python benchmarks/flood_bench.py [--flood 400] [--rounds 3]

Both runs happen in this one process against one server (the baseline first, then the flood),
so the ratio compares like with like on a shared machine. The flooding session is capped by the
session cap (default 20 a letter an hour): past it every request is a 429 that costs two small
reads. Prints p50 and p99 of the ordinary sessions' POSTs in each run and the p99 ratio.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

import flooding  # noqa: E402

from factories import ServedSystem  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--flood", type=int, default=400, help="requests of the flooding session")
    parser.add_argument("--rounds", type=int, default=3, help="runs of each kind, alternated")
    parser.add_argument("--per-session", type=int, default=6)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        (Path(work) / "site").mkdir()
        server = ServedSystem(Path(work) / "data", Path(work) / "site")
        server.start()
        try:
            flooding.run(server, sessions=2, per_session=2)  # warm the app copies up
            calm: list[float] = []
            flooded: list[float] = []
            refused = accepted = 0
            for _ in range(args.rounds):
                calm += flooding.run(server, per_session=args.per_session).latencies
                outcome = flooding.run(
                    server, per_session=args.per_session, flood_requests=args.flood
                )
                flooded += outcome.latencies
                refused += outcome.flood.count(429)
                accepted += outcome.flood.count(201)
        finally:
            server.stop()
    for name, values in (("without flood", calm), ("with flood", flooded)):
        print(
            f"{name:14s} n={len(values):4d} p50={flooding.percentile(values, 0.5) * 1000:7.1f} ms"
            f" p99={flooding.percentile(values, 0.99) * 1000:7.1f} ms"
        )
    print(f"flood: {accepted} stored, {refused} refused with 429")
    ratio = flooding.percentile(flooded, 0.99) / flooding.percentile(calm, 0.99)
    print(f"p99 ratio flood/without: {ratio:.2f} (target <= 2)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
