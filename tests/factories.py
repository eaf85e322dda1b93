"""Request bodies and helpers shared by the collector tests."""

from __future__ import annotations

import json
import uuid
from typing import Any


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
