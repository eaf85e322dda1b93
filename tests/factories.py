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

    def start(self) -> None:
        import subprocess
        import sys
        import time
        from pathlib import Path

        self.process = subprocess.Popen(
            [
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
            ],
            cwd=Path(__file__).resolve().parent.parent,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                self.request("GET", "/api/stats")
                return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("comnist serve did not start")

    def stop(self) -> None:
        if self.process:
            self.process.terminate()
            self.process.wait(timeout=10)

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
