"""Where the collector keeps its data and whom it answers, from the environment.

Cloud stages set ``COMNIST_DRAWINGS_BUCKET`` and ``COMNIST_CONTRIBUTORS_BUCKET``
(``.chalice/config.json``); without them the collector uses a local directory,
``COMNIST_DATA_DIR`` (default ``./data``). ``comnist serve`` and the tests may install stores
directly with :func:`use_stores`.
"""

from __future__ import annotations

import os
from pathlib import Path

from .limits import DEFAULT_PER_HOUR
from .storage import LocalStorage, S3Storage, Storage

_stores: dict[str, Storage] = {}


def use_stores(drawings: Storage, contributors: Storage) -> None:
    """Make the handlers use these stores (local runs and tests)."""
    _stores["drawings"] = drawings
    _stores["contributors"] = contributors


def _store(kind: str) -> Storage:
    if kind not in _stores:
        bucket = os.environ.get(f"COMNIST_{kind.upper()}_BUCKET")
        if bucket:
            _stores[kind] = S3Storage(bucket)
        else:
            _stores[kind] = LocalStorage(Path(os.environ.get("COMNIST_DATA_DIR", "data")) / kind)
    return _stores[kind]


def drawings_store() -> Storage:
    """The store of drawings, records, stats and models."""
    return _store("drawings")


def contributors_store() -> Storage:
    """The private store of contributors' names and e-mails."""
    return _store("contributors")


def allowed_origins() -> frozenset[str]:
    """Site origins allowed to call the API from a browser (``COMNIST_SITE_ORIGINS``, comma-separated)."""
    raw = os.environ.get("COMNIST_SITE_ORIGINS", "")
    return frozenset(origin.strip().rstrip("/") for origin in raw.split(",") if origin.strip())


def community_goal() -> int:
    """Drawings wanted per letter, shown on the site (``COMNIST_GOAL``, default 1,000)."""
    return int(os.environ.get("COMNIST_GOAL", "1000"))


def session_cap() -> int:
    """New drawings a session may send per letter and clock hour (``COMNIST_SESSION_CAP``, default 20)."""
    return max(1, int(os.environ.get("COMNIST_SESSION_CAP", str(DEFAULT_PER_HOUR))))


def origin_secret() -> str | None:
    """The value only the stage's CloudFront distribution sends in ``X-Comnist-Origin``, if set.

    ``comnist bootstrap`` generates one per stage. With it, the API answers only requests that
    came through CloudFront, and only then trusts CloudFront's ``CloudFront-Viewer-Country``.
    """
    return os.environ.get("COMNIST_ORIGIN_SECRET") or None
