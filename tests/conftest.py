"""Shared fixtures: local stores, the collector app on them, and drawing request bodies."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from chalicelib import config
from chalicelib.storage import LocalStorage


@pytest.fixture
def stores(tmp_path: Path) -> Iterator[tuple[LocalStorage, LocalStorage]]:
    """Fresh local drawings and contributors stores, installed for the collector's handlers."""
    drawings = LocalStorage(tmp_path / "drawings")
    contributors = LocalStorage(tmp_path / "contributors")
    config.use_stores(drawings, contributors)
    yield drawings, contributors
    config._stores.clear()


@pytest.fixture
def app_module(stores: tuple[LocalStorage, LocalStorage]) -> Any:
    """A fresh copy of ``collector/app.py`` whose handlers use the ``stores`` fixture."""
    from comnist.local import load_app

    return load_app()


@pytest.fixture
def client(app_module: Any) -> Iterator[Any]:
    """Chalice's test client in front of the app."""
    from chalice.test import Client

    with Client(app_module.app) as test_client:
        yield test_client


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
