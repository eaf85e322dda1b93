"""Request bodies and helpers shared by the collector tests."""

from __future__ import annotations

import json
import uuid
from typing import Any

# An EventBridge schedule's event, as Lambda hands it to the scheduled function.
SCHEDULED_EVENT: dict[str, Any] = {
    "version": "0",
    "id": "1",
    "detail-type": "Scheduled Event",
    "source": "aws.events",
    "account": "123456789012",
    "time": "2026-11-25T00:00:00Z",
    "region": "us-east-1",
    "resources": [],
    "detail": {},
}


def drawing_body(**overrides: Any) -> dict[str, Any]:
    """A valid ``POST /drawings`` body: a Ж-ish three-stroke drawing on a 300x300 canvas."""
    body = {
        "id": str(uuid.uuid4()),
        "session": str(uuid.uuid4()),
        "alphabet": "cyrillic",
        "letter": "Ж",
        "strokes": [
            [[150, 150, 150], [40, 150, 260], [0, 100, 200]],
            [[40, 150, 260], [40, 150, 40], [400, 500, 600]],
            [[40, 150, 260], [260, 150, 260], [800, 900, 1000]],
        ],
        "canvas": {"width": 300, "height": 300},
        "device": {"pointer": "touch", "dpr": 2.0},
        "locale": "ru",
    }
    body.update(overrides)
    return body


def post_json(client: Any, path: str, body: Any, **headers: str) -> Any:
    """POST ``body`` as JSON through the Chalice test client."""
    return client.http.post(
        path,
        headers={"Content-Type": "application/json", **headers},
        body=json.dumps(body) if not isinstance(body, bytes | str) else body,
    )


def free_port() -> int:
    """A TCP port on the loopback interface that nothing listens on."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ServedSystem:
    """``comnist serve`` as a subprocess on a free loopback port, with its own data and site folders."""

    def __init__(self, data: Any, site: Any) -> None:
        self.data, self.site, self.port = data, site, free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: Any = None

    def command(self) -> list[str]:
        """The command that starts the system."""
        import sys

        return [
            sys.executable,
            "-m",
            "comnist",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--data",
            str(self.data),
            "--site",
            str(self.site),
        ]

    def start(self, timeout: float = 30) -> None:
        """Start :meth:`command` and wait until the API answers; fail early if it exits."""
        import subprocess
        import time
        from pathlib import Path

        log = Path(self.data).parent / f"served-{self.port}.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("wb") as output:
            # Its own session, so that stopping it also stops whatever it started.
            self.process = subprocess.Popen(
                self.command(),
                cwd=Path(__file__).resolve().parent.parent,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                self.request("GET", "/api/stats")
                return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(
            f"{self.command()[:4]} did not start:\n" + log.read_text(errors="replace")
        )

    def stop(self) -> None:
        import os
        import signal

        if self.process:
            if self.process.poll() is None:
                os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=20)

    def request(
        self, method: str, path: str, body: bytes | None = None, headers: dict | None = None
    ):
        """Send one request; return ``(status, headers, body)``."""
        import http.client

        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            connection.request(method, path, body=body, headers=headers or {})
            response = connection.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            connection.close()


def letter_count(store: Any, alphabet: str, letter: str) -> int:
    """How many drawings of a letter its counter holds, flagged or not (the goal counts the
    accepted ones only)."""
    from chalicelib.alphabets import code_point
    from chalicelib.keys import letter_counter_key
    from chalicelib.storage import NotFound

    try:
        return int(store.get_json(letter_counter_key(alphabet, code_point(letter)))["count"])
    except NotFound:
        return 0


def goal_count(tags: dict[str, str]) -> int:
    """1 if a drawing with these tags counts toward the community goal, else 0."""
    from chalicelib.stats import accepted

    return int(accepted(tags))
