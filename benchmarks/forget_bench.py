"""What an erasure by session costs as the collection grows: ``comnist forget --drawings``.

    .venv/bin/python benchmarks/forget_bench.py [--records 20000] [--s3-records 2000]

A drawing's session is kept only in its record, so finding a person's drawings reads every
record once. The benchmark fills a local store (and a moto bucket) with records of many
sessions, then erases one session of 10 drawings, and prints CPU seconds and wall seconds per
1,000 records beside a baseline measured in the same run: listing the same records without
reading them.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from chalicelib.keys import DrawingRef
from chalicelib.stats import count_drawing
from chalicelib.storage import LocalStorage, S3Storage, Storage
from comnist.forget import forget

RECORD = {"strokes": [[[1, 2], [3, 4], [0, 10]]], "canvas": {"width": 300, "height": 300}}


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def measured(job: Callable[[], Any]) -> tuple[float, float]:
    wall, spent = time.perf_counter(), cpu()
    job()
    return cpu() - spent, time.perf_counter() - wall


def fill(store: Storage, records: int) -> str:
    """``records`` drawing records of sessions of 20 drawings; return a session of 10 to erase."""
    target = str(uuid.uuid4())
    session = target
    now = "2026-01-01T00:00:00.000Z"
    for i in range(records):
        if i >= 10 and (i - 10) % 20 == 0:
            session = str(uuid.uuid4())
        ref = DrawingRef("cyrillic", "Ж", str(uuid.uuid4()))
        store.put_json(ref.record_key, {**RECORD, "id": ref.id, "session": session})
        store.put(ref.png_key, b"png", content_type="image/png")
        if i < 10:
            count_drawing(store, ref, now)
    return target


def run(label: str, drawings: Storage, contributors: Storage, records: int) -> None:
    target = fill(drawings, records)
    listing_cpu, listing_wall = measured(lambda: list(drawings.list_keys("strokes/")))
    result: dict[str, Any] = {}
    erase_cpu, erase_wall = measured(
        lambda: result.setdefault("erased", forget(drawings, contributors, {target}, drawings=True))
    )
    erased = result["erased"]
    assert erased.drawings == 10 and erased.uncounted == 10, erased
    per = 1000 / records
    print(
        f"{label}: {records:,} records; erasing one session of 10 drawings "
        f"{erase_cpu:.2f} CPU s, {erase_wall:.2f} s "
        f"({erase_cpu * per:.3f} CPU s and {erase_wall * per:.3f} s per 1,000 records); "
        f"listing alone {listing_cpu:.2f} CPU s, {listing_wall:.2f} s; "
        f"ratio {erase_cpu / max(listing_cpu, 1e-9):.1f}x the listing's CPU"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--s3-records", type=int, default=2_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        run("local", LocalStorage(root / "d"), LocalStorage(root / "c"), args.records)
    if args.s3_records:
        import os

        import moto

        os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
        os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
        os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
        with moto.mock_aws():
            import boto3

            s3 = boto3.client("s3")
            for bucket in ("drawings", "contributors"):
                s3.create_bucket(Bucket=bucket)
                s3.put_bucket_versioning(
                    Bucket=bucket, VersioningConfiguration={"Status": "Enabled"}
                )
            run(
                "moto S3", S3Storage("drawings", s3), S3Storage("contributors", s3), args.s3_records
            )


if __name__ == "__main__":
    main()
