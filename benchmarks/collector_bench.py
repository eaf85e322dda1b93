"""Collector benchmarks: rasterizing, an end-to-end local load, and the upload path's import cost.

    python benchmarks/collector_bench.py --samples ../shared/data [--drawings 20000] [--clients 50]

Prints figures; each is given beside a baseline measured in the same run.
"""

from __future__ import annotations

import argparse
import http.client
import io
import json
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from pathlib import Path

from PIL import Image

from chalicelib.raster import render_alpha, render_png
from comnist.evaluation import load_doodles

ROOT = Path(__file__).resolve().parent.parent


def canvas_of(strokes: list) -> tuple[float, float]:
    xs = [x for s in strokes for x in s[0]]
    ys = [y for s in strokes for y in s[1]]
    return max(max(xs), 16) + 1, max(max(ys), 16) + 1


def bench_raster(doodles: list[list]) -> None:
    raster, encode_blank = [], []
    blank = Image.new("RGBA", (278, 278))
    for strokes in doodles:
        width, height = canvas_of(strokes)
        start = time.perf_counter()
        render_png(strokes, width, height)
        raster.append(time.perf_counter() - start)
        start = time.perf_counter()
        blank.save(io.BytesIO(), "PNG")
        encode_blank.append(time.perf_counter() - start)
    draw_only = []
    for strokes in doodles[:500]:
        start = time.perf_counter()
        render_alpha(strokes, *canvas_of(strokes))
        draw_only.append(time.perf_counter() - start)
    r, b, d = (statistics.median(v) * 1000 for v in (raster, encode_blank, draw_only))
    print(f"rasterize+encode, median over {len(doodles)} Quick, Draw! doodles: {r:.2f} ms")
    print(f"  drawing alone (4x supersampled, reduced): {d:.2f} ms")
    print(f"  baseline, PNG-encoding a blank 278x278 RGBA: {b:.2f} ms  -> ratio {r / b:.1f}x")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_server(port: int, server: subprocess.Popen, seconds: float = 30) -> None:
    """Return once ``comnist serve`` accepts connections; raise if it exits or never does."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"comnist serve exited with {server.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("comnist serve did not start")


def to_canvas_body(strokes: list, session: str, drawing_id: str, letter: str) -> bytes:
    # Quick, Draw! strokes are raw screen pixels (sometimes negative): shift and scale them into a
    # phone-sized canvas, keeping their times.
    x0 = min(x for s in strokes for x in s[0])
    y0 = min(y for s in strokes for y in s[1])
    width = max(x for s in strokes for x in s[0]) - x0 + 1
    height = max(y for s in strokes for y in s[1]) - y0 + 1
    scale = 340 / max(width, height)
    t0 = strokes[0][2][0]
    clean, last = [], 0
    for xs, ys, ts in strokes[:64]:
        times = []
        for t in ts:
            last = max(last, int(t - t0))
            times.append(last)
        clean.append(
            [
                [round((x - x0) * scale + 10, 1) for x in xs],
                [round((y - y0) * scale + 10, 1) for y in ys],
                times,
            ]
        )
    total = 0
    kept = []
    for stroke in clean:
        room = min(1000, 4000 - total)
        if room <= 0:
            break
        kept.append([axis[:room] for axis in stroke])
        total += len(kept[-1][0])
    body = {
        "id": drawing_id,
        "session": session,
        "alphabet": "latin",
        "letter": letter,
        "strokes": kept,
        "canvas": {"width": 360, "height": 360},
        "device": {"pointer": "touch", "dpr": 2},
        "locale": "en",
    }
    return json.dumps(body).encode()


def bench_in_process(doodles: list[list], drawings: int = 400) -> float:
    """CPU per drawing in one thread, without HTTP: the request path and the event path apart.

    Returns the milliseconds of both together, the baseline of the load figures.
    """
    import logging

    from comnist.local import LambdaContext, local_system
    from comnist.serve import GatewayPool

    logging.disable(logging.INFO)
    bodies = [
        to_canvas_body(doodles[i % len(doodles)], str(uuid.uuid4()), str(uuid.uuid4()), "A")
        for i in range(drawings)
    ]
    with (
        tempfile.TemporaryDirectory(prefix="comnist-bench-") as data,
        local_system(data) as (store, _, _, app_module),
    ):
        events: list[dict] = []
        store.on_created = events.append  # keep the events to time them apart
        pool = GatewayPool(app_module, copies=1)
        start = time.perf_counter()
        for body in bodies:
            pool.handle("POST", "/drawings", {"content-type": "application/json"}, body)
        requests = (time.perf_counter() - start) / drawings * 1000
        start = time.perf_counter()
        for event in events:
            app_module.on_new_drawing(event, LambdaContext())
        scoring = (time.perf_counter() - start) / drawings * 1000
    logging.disable(logging.NOTSET)
    start = time.perf_counter()
    for body in bodies:
        parsed = json.loads(body)
        render_png(parsed["strokes"], 360, 360)
    raster = (time.perf_counter() - start) / drawings * 1000
    print(f"in-process, one thread, {drawings} drawings (the load baseline):")
    print(
        f"  request path {requests:.2f} ms/drawing (rasterize+encode {raster:.2f} ms of it, "
        f"{raster / requests:.0%}); event path (sanitizer tags + stats) {scoring:.2f} ms/drawing"
    )
    print(f"  -> one core can take at most {1000 / (requests + scoring):.0f} drawings/s")
    return requests + scoring


def wait_for_counts(port: int, expected: int, seconds: float = 3600) -> tuple[int, float]:
    """Poll ``GET /api/stats`` until it counts ``expected`` drawings; return the count and wait."""
    start = time.perf_counter()
    total = -1
    while time.perf_counter() - start < seconds:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        connection.request("GET", "/api/stats")
        stats = json.loads(connection.getresponse().read())
        connection.close()
        total = sum(alphabet["total"] for alphabet in stats["alphabets"].values())
        if total >= expected:
            break
        time.sleep(1)
    return total, time.perf_counter() - start


def bench_load(
    doodles: list[list],
    drawings: int,
    clients: int,
    baseline_ms: float,
    replay_share: float = 0.05,
) -> None:
    """Many phones posting through ``comnist serve``, some of them twice (a retry after a lost
    answer), each replay sent right behind its original so that the two often race."""
    data = Path(tempfile.mkdtemp(prefix="comnist-bench-"))
    (data / "site").mkdir()
    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "comnist",
            "serve",
            "--port",
            str(port),
            "--data",
            str(data / "data"),
            "--site",
            str(data / "site"),
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_server(port, server)
        rng = random.Random(1)
        letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
        sessions = [str(uuid.uuid4()) for _ in range(200)]
        ids = [str(uuid.uuid4()) for _ in range(drawings)]
        bodies = [
            to_canvas_body(
                doodles[i % len(doodles)], rng.choice(sessions), ids[i], rng.choice(letters)
            )
            for i in range(drawings)
        ]
        replayed = set(rng.sample(range(drawings), int(drawings * replay_share)))
        work = [i for i in range(drawings) for _ in range(2 if i in replayed else 1)]
        latencies: list[float] = []
        statuses: Counter[int] = Counter()
        created: Counter[str] = Counter()
        connection_errors = 0
        lock = threading.Lock()
        cursor = iter(work)

        def client() -> None:
            nonlocal connection_errors
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            while True:
                with lock:
                    item = next(cursor, None)
                if item is None:
                    break
                start = time.perf_counter()
                try:
                    connection.request(
                        "POST", "/api/drawings", bodies[item], {"Content-Type": "application/json"}
                    )
                    response = connection.getresponse()
                    response.read()
                except (OSError, http.client.HTTPException):
                    # Counted, then sent again on a new connection, as the site's retry does.
                    with lock:
                        connection_errors += 1
                        work.append(item)
                    connection.close()
                    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                    continue
                elapsed = time.perf_counter() - start
                with lock:
                    latencies.append(elapsed)
                    statuses[response.status] += 1
                    if response.status == 201:
                        created[ids[item]] += 1
            connection.close()

        started = time.perf_counter()
        threads = [threading.Thread(target=client) for _ in range(clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        wall = time.perf_counter() - started
        stored = {p.stem for p in (data / "data" / "drawings" / "drawings").rglob("*.png")}
        lost = len(set(ids) - stored)
        duplicates = sum(n - 1 for n in created.values() if n > 1)
        server_errors = sum(n for status, n in statuses.items() if status >= 500)
        latencies.sort()
        print(
            f"local load: {clients} clients posted {drawings} drawings (+{len(replayed)} replays) "
            f"in {wall:.1f} s = {len(latencies) / wall:.0f} requests/s"
        )
        print(
            f"  answers {dict(sorted(statuses.items()))}; stored {len(stored)}; lost {lost}, "
            f"duplicates {duplicates}, 5xx {server_errors}, connection errors {connection_errors}"
        )
        p50 = latencies[len(latencies) // 2] * 1000
        p99 = latencies[int(len(latencies) * 0.99)] * 1000
        print(
            f"  latency p50 {p50:.1f} ms ({p50 / baseline_ms:.1f}x the in-process CPU of one drawing), "
            f"p99 {p99:.1f} ms ({p99 / baseline_ms:.1f}x)"
        )
        print(
            f"  throughput {len(latencies) / wall:.0f}/s = {len(latencies) / wall * baseline_ms / 1000:.2f}x "
            f"what one core does in-process ({1000 / baseline_ms:.0f}/s); by Little's law "
            f"{clients} clients wait {clients / (len(latencies) / wall) * 1000:.0f} ms each: "
            f"the p50 is queueing for the CPU"
        )
        counted, waited = wait_for_counts(port, len(stored))
        print(
            f"  counted by the event handler: {counted} of {len(stored)} "
            f"({waited:.0f} s after the last answer, events are handled one at a time)"
        )
        if (
            lost
            or duplicates
            or server_errors
            or connection_errors
            or statuses[201] != drawings
            or counted != len(stored)
        ):
            raise SystemExit("the local server lost, doubled or failed drawings")
    finally:
        server.terminate()
        server.wait(timeout=10)
        shutil.rmtree(data, ignore_errors=True)


def bench_import_time() -> None:
    probe = (
        "import sys, time; sys.path.insert(0, 'collector'); start = time.perf_counter(); import app; "
        "t = time.perf_counter() - start; print(t, 'numpy' in sys.modules)"
    )
    runs, numpy_loaded = [], False
    for _ in range(5):
        out = subprocess.run(
            [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
        )
        seconds, loaded = out.stdout.split()
        runs.append(float(seconds))
        numpy_loaded = numpy_loaded or loaded == "True"
    numpy_runs = []
    for _ in range(5):
        out = subprocess.run(
            [
                sys.executable,
                "-c",
                "import time; s = time.perf_counter(); import numpy; print(time.perf_counter() - s)",
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        numpy_runs.append(float(out.stdout))
    a, n = statistics.median(runs) * 1000, statistics.median(numpy_runs) * 1000
    print(
        f"cold import of the upload function's module (app.py): {a:.0f} ms; numpy imported: {numpy_loaded}"
    )
    if numpy_loaded:
        raise SystemExit("the upload path imports numpy")
    print(
        f"  baseline, a cold `import numpy` alone: {n:.0f} ms -> app.py costs {a / n:.2f}x a numpy import"
    )
    out = subprocess.run(
        [
            sys.executable,
            "-X",
            "importtime",
            "-c",
            "import sys; sys.path.insert(0, 'collector'); import app",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    heaviest = sorted(
        (int(line.split("|")[1]), line.split("|")[2].strip())
        for line in out.stderr.splitlines()[1:]
        if line.count("|") == 2
    )[-5:]
    print(
        "  heaviest imports (cumulative us):",
        ", ".join(f"{name} {us}" for us, name in reversed(heaviest)),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--drawings", type=int, default=20_000)
    parser.add_argument("--clients", type=int, default=50)
    args = parser.parse_args()
    doodles = load_doodles(args.samples / "quickdraw-sample" / "doodles.ndjson")
    bench_raster(doodles)
    bench_import_time()
    baseline_ms = bench_in_process(doodles)
    bench_load(doodles, args.drawings, args.clients, baseline_ms)


if __name__ == "__main__":
    main()
