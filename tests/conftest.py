"""Shared fixtures: local stores and the collector app on them."""

from __future__ import annotations

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
