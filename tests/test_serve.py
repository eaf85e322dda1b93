"""``comnist serve`` as a participant's phone and the maintainer see it: real HTTP, real files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from factories import ServedSystem, drawing_body

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServedSystem]:
    site = tmp_path / "site"
    (site / "ru").mkdir(parents=True)
    (site / "index.html").write_text("<!doctype html><title>CoMNIST</title>root page")
    (site / "ru" / "index.html").write_text("<!doctype html><title>CoMNIST</title>russian page")
    (tmp_path / "secret.txt").write_text("outside the site")
    running = ServedSystem(tmp_path / "data", site)
    running.start()
    yield running
    running.stop()


def comnist_list(data: Path, *args: str) -> list[dict]:
    output = subprocess.run(
        [sys.executable, "-m", "comnist", "list", "--data", str(data), "--json", *args],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return [json.loads(line) for line in output.splitlines()]


def wait_for_status(data: Path, drawing_id: str, timeout: float = 20) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rows = [row for row in comnist_list(data) if row["id"] == drawing_id]
        if rows and rows[0]["status"] != "pending":
            return rows[0]
        time.sleep(0.3)
    raise AssertionError(f"drawing {drawing_id} was never tagged")


def post_drawing(server: ServedSystem, body: dict) -> tuple[int, dict]:
    status, _, data = server.request(
        "POST", "/api/drawings", json.dumps(body).encode(), {"Content-Type": "application/json"}
    )
    return status, json.loads(data)


def test_site_and_api_on_one_origin(server):
    status, headers, body = server.request("GET", "/")
    assert status == 200 and b"root page" in body
    assert headers["Content-Type"].startswith("text/html")
    assert server.request("GET", "/ru/")[2].endswith(b"russian page")
    assert server.request("GET", "/ru")[0] == 301
    assert server.request("GET", "/../secret.txt")[0] == 404
    assert server.request("GET", "/%2e%2e/secret.txt")[0] == 404
    status, _, data = server.request("GET", "/api/stats")
    assert status == 200 and json.loads(data)["alphabets"]["latin"]["total"] == 0


def test_posted_drawing_is_stored_tagged_listed_and_survives_restart(server):
    body = drawing_body()
    assert post_drawing(server, body) == (
        201,
        {"id": body["id"], "alphabet": "cyrillic", "letter": "Ж"},
    )
    png = server.data / "drawings" / "drawings" / "cyrillic" / "U+0416" / f"{body['id']}.png"
    assert png.is_file()

    row = wait_for_status(server.data, body["id"])
    assert row["letter"] == "Ж" and row["alphabet"] == "cyrillic"
    assert row["status"] in ("unscored", "ok", "suspicious")
    assert row["created"]

    server.stop()
    server.start()
    assert post_drawing(server, body)[0] == 200  # a replay after a restart stores nothing new
    assert [row["id"] for row in comnist_list(server.data)] == [body["id"]]
    status, _, data = server.request("GET", "/api/stats")
    assert json.loads(data)["alphabets"]["cyrillic"]["letters"]["Ж"] == 1


def test_bad_input_over_http_is_refused_and_nothing_written(server):
    status, _, data = server.request(
        "POST", "/api/drawings", b"{not json", {"Content-Type": "application/json"}
    )
    assert status == 400 and "JSON" in json.loads(data)["error"]
    status, _, data = server.request(
        "POST", "/api/drawings", b"x" * 2_000_000, {"Content-Type": "application/json"}
    )
    assert status == 413
    status, _, _ = server.request("GET", "/api/nothing-here")
    assert 400 <= status < 500
    drawings = server.data / "drawings"
    assert not any(p.is_file() for p in drawings.rglob("*") if not p.name.startswith("."))


def test_list_filters_by_letter_and_status(server):
    ids = []
    for letter in ("А", "Б", "Б"):
        body = drawing_body(letter=letter)
        post_drawing(server, body)
        ids.append(body["id"])
    for drawing_id in ids:
        wait_for_status(server.data, drawing_id)
    assert len(comnist_list(server.data, "--letter", "Б")) == 2
    assert len(comnist_list(server.data, "--letter", "U+0410")) == 1
    status = comnist_list(server.data)[0]["status"]
    assert len(comnist_list(server.data, "--status", status)) >= 1
    plain = subprocess.run(
        [sys.executable, "-m", "comnist", "list", "--data", str(server.data)],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ},
    ).stdout.splitlines()
    assert len(plain) == 3 and all(line.split("\t")[0] in ids for line in plain)
