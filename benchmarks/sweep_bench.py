"""The orphan sweep's own work at a million drawings: CPU seconds and memory, S3 requests aside.

    python benchmarks/sweep_bench.py [--drawings 1000000]

A synthetic store lists N PNGs, N records and N claims (0.1 % of them orphans) as S3 would; the
sweep's listings, set and comparisons run as in the scheduled function. The S3 listing time is
not here: 3 N / 1,000 list requests, about 3,000 at a million drawings. Baseline: building the
same listings without sweeping them, in the same run.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "collector"))

from chalicelib import sweep  # noqa: E402
from chalicelib.storage import ListedObject, NotFound, Storage  # noqa: E402


class ListingStore(Storage):
    """Listings of N drawings' PNGs, records and claims; every Nth drawing lacks its PNG."""

    name = "synthetic"

    def __init__(self, drawings: int, orphan_every: int = 1000) -> None:
        self.ids = sorted(str(uuid.UUID(int=i * 7919 + 1)) for i in range(drawings))
        self.orphan_every = orphan_every
        self.deleted = 0

    def _keys(self, prefix: str) -> Iterator[str]:
        for i, drawing_id in enumerate(self.ids):
            if prefix == "drawings/" and i % self.orphan_every == 0:
                continue
            if prefix == "drawings/":
                yield f"drawings/latin/U+0041/{drawing_id}.png"
            elif prefix == "strokes/":
                yield f"strokes/latin/U+0041/{drawing_id}.json"
            elif prefix == "requests/":
                yield f"requests/{drawing_id}.json"

    def list_keys(self, prefix: str = "", start_after: str = "") -> Iterator[str]:
        return self._keys(prefix)

    def list_objects(self, prefix: str = "") -> Iterator[ListedObject]:
        return (ListedObject(key, 0.0, '"etag"') for key in self._keys(prefix))

    def get(self, key):  # a claim's PNG key
        raise NotFound(key)

    def head(self, key):
        return None

    def delete(self, key: str) -> None:
        self.deleted += 1

    def put(self, *args, **kwargs):
        raise NotImplementedError

    def get_tags(self, key):
        return {}

    def put_tags(self, key, tags):
        raise NotImplementedError


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--drawings", type=int, default=1_000_000)
    args = parser.parse_args()
    store = ListingStore(args.drawings)
    start = time.process_time()
    for prefix in ("drawings/", "strokes/", "requests/"):
        for _ in store.list_objects(prefix):
            pass
    baseline = time.process_time() - start
    start = time.process_time()
    removed = sweep.sweep_orphans(store, now=10_000.0)
    cpu = time.process_time() - start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"drawings {args.drawings:,}: removed {removed}")
    print(f"listing only {baseline:.1f} CPU s; sweep {cpu:.1f} CPU s ({cpu / baseline:.2f}x)")
    print(f"peak memory {peak_mb:.0f} MB (the function has 1,024 MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
