"""A flood against ``comnist serve``: one session is capped with 429s, ten others keep their 201s."""

from __future__ import annotations

from pathlib import Path

import flooding
import pytest

from factories import ServedSystem

CAP = 5


@pytest.fixture
def served(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("COMNIST_SESSION_CAP", str(CAP))  # the served process inherits it
    (tmp_path / "site").mkdir()
    system = ServedSystem(tmp_path / "data", tmp_path / "site")
    system.start()
    yield system
    system.stop()


def test_one_flooding_session_is_capped_while_ten_others_keep_their_201s(served):
    outcome = flooding.run(served, sessions=10, per_session=3, flood_requests=60)

    assert sorted(set(outcome.flood)) == [201, 429], outcome.flood
    assert outcome.flood.count(201) == CAP, "the cap, exactly, under four connections at once"
    for headers, body in outcome.flood_refusals:
        assert 1 <= int(headers["Retry-After"]) <= 3600
        assert headers["Content-Type"].startswith("application/json") and "error" in body
    assert len(outcome.sessions) == 10
    for session, statuses in outcome.sessions.items():
        assert statuses == [201, 201, 201], session
    stored = list((served.data / "drawings" / "drawings").rglob("*.png"))
    assert len(stored) == CAP + 30, "the flood's share of the collection is its cap"
