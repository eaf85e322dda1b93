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


@pytest.fixture
def aws_region() -> str:
    """The region of the ``aws`` fixture; a test module may override it."""
    return "us-east-1"


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch, aws_region: str) -> Iterator[Any]:
    """An S3 client on moto's in-memory AWS, with fake credentials and S3's atomic requests."""
    import moto  # before boto3 creates any client

    monkeypatch.setenv("AWS_DEFAULT_REGION", aws_region)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    from deploy_harness.cloudfront_policies import emulated

    from moto_atomic import atomic_moto_requests

    with moto.mock_aws(), atomic_moto_requests(), emulated():
        import boto3

        yield boto3.client("s3", region_name=aws_region)
