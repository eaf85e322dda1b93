"""Export throughput and peak memory at growing collection sizes, on synthetic local stores.

A store of N drawings is generated quickly: a few hundred stroke variants are rasterized once and
written through :class:`LocalStorage` (PNG, record with strokes, tags) under fresh ids, in
sessions of about 20 drawings, one in ten as an imported 2017 image. Each export then runs in its
own process so that its peak resident memory (``ru_maxrss`` from ``wait4``) is its own. With
``--against REV``, the exporter of that git revision (checked out of the repository into a
temporary folder) exports the same stores in the same run, and the figures are given as ratios.

    .venv/bin/python benchmarks/export_bench.py                 # 10,000 and 100,000 drawings
    .venv/bin/python benchmarks/export_bench.py --sizes 2000,10000 --against main
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import uuid
from pathlib import Path

from chalicelib.alphabets import alphabets
from chalicelib.keys import DrawingRef
from chalicelib.raster import render_png
from chalicelib.storage import LocalStorage

VARIANTS = 300
SESSION_SIZE = 20


def variant(rng: random.Random) -> list[list[list[float]]]:
    """A random three-stroke drawing on a 300x300 canvas, with times."""
    strokes = []
    for _ in range(rng.randint(1, 3)):
        points = rng.randint(2, 12)
        xs = [rng.uniform(20, 280) for _ in range(points)]
        ys = [rng.uniform(20, 280) for _ in range(points)]
        strokes.append([xs, ys, [10.0 * i for i in range(points)]])
    return strokes


def generate(root: Path, count: int, seed: int = 1) -> None:
    """Write ``count`` synthetic drawings into the local store at ``root``."""
    rng = random.Random(seed)
    store = LocalStorage(root / "drawings")
    stroke_sets = [variant(rng) for _ in range(VARIANTS)]
    pngs = [render_png(strokes, 300, 300) for strokes in stroke_sets]
    letters = [(a.id, letter) for a in alphabets().values() for letter in a.letters]
    session = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    for n in range(count):
        if n % SESSION_SIZE == 0:
            session = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        alphabet, letter = letters[rng.randrange(len(letters))]
        ref = DrawingRef(alphabet, letter, str(uuid.UUID(int=rng.getrandbits(128), version=4)))
        pick = rng.randrange(VARIANTS)
        imported = n % 10 == 0
        record = {
            "id": ref.id,
            "session": None if imported else session,
            "alphabet": alphabet,
            "letter": letter,
            "code_point": ref.code_point,
            "strokes": None if imported else stroke_sets[pick],
            "canvas": None if imported else {"width": 300, "height": 300},
            "device": None,
            "locale": None,
            "created": f"2026-11-{1 + n % 28:02d}T12:00:00.000Z",
            "country": None,
            "source": f"{letter}/{0x58A10000 + n * 4:08x}00000.png" if imported else None,
            "body_sha256": "0" * 64,
        }
        store.put_json(ref.record_key, record)
        store.put(ref.png_key, pngs[pick], content_type="image/png")
        store.put_tags(ref.png_key, {"status": "ok" if n % 17 else "suspicious", "score": "-1"})


def child(data: Path, out: Path, workers: int) -> None:
    """Run one export (in the measured process) and print its wall time as JSON."""
    from comnist.release.export import ExportOptions, export_release

    started = time.perf_counter()
    plan = export_release(LocalStorage(data / "drawings"), out, ExportOptions(workers=workers))
    seconds = time.perf_counter() - started
    drawings = sum(plan.total(a) for a in plan.counts)
    print(json.dumps({"seconds": seconds, "drawings": drawings}))


ROOT = Path(__file__).resolve().parent.parent


def checkout(revision: str, target: Path) -> Path:
    """The packages of ``revision`` extracted into ``target``; return the folder for ``PYTHONPATH``."""
    archive = subprocess.run(
        [
            "git",
            "-C",
            str(ROOT),
            "archive",
            "--format=tar",
            revision,
            "comnist",
            "collector",
            "sanitizer",
        ],
        check=True,
        capture_output=True,
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(target, filter="data")
    return target


def measure(data: Path, out: Path, workers: int, code: Path | None = None) -> dict[str, float]:
    """Export in a child process (with the packages under ``code`` if given); return its wall
    time, drawings and peak RSS in MiB."""
    from comnist.release.export import state_dir

    shutil.rmtree(out, ignore_errors=True)
    shutil.rmtree(state_dir(out), ignore_errors=True)
    command = [sys.executable, __file__, "--child", str(data), str(out), "--workers", str(workers)]
    env = dict(os.environ)
    if code is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(code), str(code / "collector")])
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, cwd=code or ROOT
    )
    output = process.stdout.read() if process.stdout else b""
    _, status, usage = os.wait4(process.pid, 0)
    if status != 0:
        raise SystemExit(f"export failed with status {status}")
    result = json.loads(output.decode().strip().splitlines()[-1])
    result["peak_rss_mib"] = usage.ru_maxrss / 1024  # Linux reports KiB
    return result


def report(label: str, size: int, result: dict[str, float]) -> float:
    rate = result["drawings"] / result["seconds"]
    print(
        f"{label:>9} {size:>7} drawings: exported {result['drawings']:.0f} in "
        f"{result['seconds']:.1f} s ({rate:.0f} drawings/s), peak RSS {result['peak_rss_mib']:.0f} MiB",
        flush=True,
    )
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--work", type=Path, default=Path("/tmp/comnist-export-bench"))
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--against", metavar="REV", help="also run this git revision's exporter")
    parser.add_argument("--keep", action="store_true", help="keep the generated stores")
    parser.add_argument(
        "--child", nargs=2, type=Path, metavar=("DATA", "OUT"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.child:
        child(*args.child, args.workers)
        return
    with tempfile.TemporaryDirectory() as temporary:
        baseline = checkout(args.against, Path(temporary)) if args.against else None
        results = []
        for size in (int(s) for s in args.sizes.split(",")):
            data = args.work / f"store-{size}"
            if not (data / "drawings").is_dir():
                started = time.perf_counter()
                generate(data, size)
                print(
                    f"generated {size} drawings in {time.perf_counter() - started:.0f} s",
                    flush=True,
                )
            now = measure(data, args.work / f"release-{size}", args.workers)
            rate = report("this", size, now)
            if baseline is not None:
                before = measure(data, args.work / f"before-{size}", args.workers, baseline)
                old_rate = report(args.against, size, before)
                print(
                    f"{'':>9} {size:>7} drawings: {rate / old_rate:.2f}x the rate, "
                    f"{now['peak_rss_mib'] / before['peak_rss_mib']:.2f}x the peak memory of {args.against}",
                    flush=True,
                )
            results.append((size, now, rate))
            if not args.keep:
                shutil.rmtree(data, ignore_errors=True)
    if len(results) > 1:
        (small, first, rate0), (large, last, rate1) = results[0], results[-1]
        print(
            f"{large / small:.0f}x the drawings: {last['seconds'] / first['seconds']:.1f}x the time "
            f"(throughput ratio {rate1 / rate0:.2f}), "
            f"{last['peak_rss_mib'] / first['peak_rss_mib']:.2f}x the peak memory"
        )


if __name__ == "__main__":
    main()
