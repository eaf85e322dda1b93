"""One session flooding ``comnist serve`` beside ten ordinary sessions (the flood test and its benchmark)."""

from __future__ import annotations

import json
import threading
import time
import uuid
from dataclasses import dataclass, field

from factories import ServedSystem, drawing_body

LETTERS = "АБВГДЕЖЗИЙ"


@dataclass
class Outcome:
    """Answers of one run: statuses of the flood and of each ordinary session, their latencies."""

    flood: list[int] = field(default_factory=list)
    flood_refusals: list[tuple[dict, dict]] = field(default_factory=list)
    sessions: dict[str, list[int]] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)


def post(server: ServedSystem, body: dict) -> tuple[int, dict, dict]:
    status, headers, data = server.request(
        "POST", "/api/drawings", json.dumps(body).encode(), {"Content-Type": "application/json"}
    )
    return status, headers, json.loads(data)


def run(
    server: ServedSystem,
    sessions: int = 10,
    per_session: int = 3,
    flood_requests: int = 0,
    flood_threads: int = 4,
) -> Outcome:
    """Ordinary sessions draw ``per_session`` letters each while (optionally) one session sends
    ``flood_requests`` drawings of one letter from ``flood_threads`` connections at once."""
    outcome = Outcome()
    lock = threading.Lock()
    flooder = str(uuid.uuid4())
    remaining = {"n": flood_requests}

    def flood() -> None:
        while True:
            with lock:
                if remaining["n"] <= 0:
                    return
                remaining["n"] -= 1
            status, headers, body = post(server, drawing_body(session=flooder, letter="Ж"))
            with lock:
                outcome.flood.append(status)
                if status != 201:
                    outcome.flood_refusals.append((headers, body))

    def ordinary(index: int) -> None:
        session = str(uuid.uuid4())
        statuses = outcome.sessions.setdefault(session, [])
        for n in range(per_session):
            letter = LETTERS[(index + n) % len(LETTERS)]
            started = time.perf_counter()
            status, _, _ = post(server, drawing_body(session=session, letter=letter))
            elapsed = time.perf_counter() - started
            with lock:
                statuses.append(status)
                outcome.latencies.append(elapsed)
            time.sleep(0.05)  # a person takes a moment between letters

    threads = [
        threading.Thread(target=flood) for _ in range(flood_threads if flood_requests else 0)
    ]
    threads += [threading.Thread(target=ordinary, args=(i,)) for i in range(sessions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(300)
    return outcome


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]
