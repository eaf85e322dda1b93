"""``comnist serve`` as a participant's phone and the maintainer see it: real HTTP, real files."""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from chalicelib.storage import LocalStorage
from factories import ServedSystem, drawing_body, letter_count

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
    accepted = int(row["status"] not in ("suspicious", "invalid"))
    assert json.loads(data)["alphabets"]["cyrillic"]["letters"]["Ж"] == accepted


class MadeSystem(ServedSystem):
    """The system as ``make run`` starts it, on a free port with its own data and site folders."""

    def command(self) -> list[str]:
        return ["make", "run", f"PORT={self.port}", f"DATA={self.data}", f"SITE={self.site}"]


def test_make_run_builds_the_site_serves_it_and_collects_a_drawing(tmp_path):
    """The README's first command, as the maintainer types it (with a free port and folders)."""
    served = MadeSystem(tmp_path / "data", tmp_path / "site")
    served.start(timeout=180)  # make also builds the site first
    try:
        status, _, page = served.request("GET", "/ru/")
        assert status == 200 and b'<html lang="ru">' in page
        assert f"http://127.0.0.1:{served.port}/ru/".encode() in page  # shared links point here
        recognizer = re.search(rb'"script": "(/assets/recognizer\.[0-9a-f]+\.js)"', page)
        assert recognizer and served.request("GET", recognizer.group(1).decode())[0] == 200

        body = drawing_body()
        assert post_drawing(served, body)[0] == 201
        row = wait_for_status(served.data, body["id"])
        assert row["letter"] == "Ж" and row["status"] in ("unscored", "ok", "suspicious")
    finally:
        served.stop()


def test_bad_input_over_http_is_refused_and_nothing_written(server):
    status, _, data = server.request(
        "POST", "/api/drawings", b"{not json", {"Content-Type": "application/json"}
    )
    assert status == 400 and "JSON" in json.loads(data)["error"]
    status, _, data = server.request(
        "POST", "/api/drawings", b"x" * 600_000, {"Content-Type": "application/json"}
    )
    assert status == 413 and "larger" in json.loads(data)["error"]
    status, _, data = server.request("GET", "/api/nothing-here")
    assert status == 403 and "no such route" in json.loads(data)["error"]
    status, _, data = server.request(
        "POST", "/api/drawings", b"\x89PNG", {"Content-Type": "image/png"}
    )
    assert status == 415 and "application/json" in json.loads(data)["error"]
    status, headers, data = server.request("GET", "/api/drawings")
    assert status == 405 and "POST" in headers["Allow"] and json.loads(data)["error"]
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


# --- hostile requests: each is refused with a 4xx, and the server goes on serving -------------


@pytest.fixture(scope="module")
def hostile_server(tmp_path_factory) -> Iterator[ServedSystem]:
    tmp_path = tmp_path_factory.mktemp("hostile")
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "index.html").write_text("<!doctype html><title>CoMNIST</title>root")
    running = ServedSystem(tmp_path / "data", tmp_path / "site")
    running.start()
    yield running
    running.stop()


def raw_exchange(server: ServedSystem, head: bytes, body_chunks: Iterator[bytes]):
    """Send a hand-made request (head, then body chunks for as long as the server reads them);
    return the status and body of the answer."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=20) as connection:
        connection.sendall(head)
        try:
            for chunk in body_chunks:
                connection.sendall(chunk)
        except OSError:
            pass  # the server answered and closed without reading it all, as it should
        answer = b""
        with contextlib.suppress(OSError):
            while data := connection.recv(65536):
                answer += data
                headers, _, body = answer.partition(b"\r\n\r\n")
                length = re.search(rb"Content-Length: (\d+)", headers)
                if length and len(body) >= int(length[1]):
                    break
    status_line, _, rest = answer.partition(b"\r\n")
    assert status_line.startswith(b"HTTP/1.1 "), answer[:200]
    return int(status_line.split()[1]), rest.partition(b"\r\n\r\n")[2]


def megabytes(count: int) -> Iterator[bytes]:
    return (b"x" * (1 << 20) for _ in range(count))


HOSTILE = {
    "Content-Length -1 then 80 MiB": (
        b"POST /api/drawings HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: -1\r\n\r\n",
        lambda: megabytes(80),
        {400},
    ),
    "Content-Length abc": (
        b"POST /api/drawings HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: abc\r\n\r\n{}",
        lambda: iter(()),
        {400},
    ),
    "80 MiB announced": (
        b"POST /api/drawings HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: 83886080\r\n\r\n",
        lambda: megabytes(80),
        {413},
    ),
    "chunked garbage": (
        b"POST /api/drawings HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n9\r\n{not json\r\n0\r\n\r\n",
        lambda: iter(()),
        {400},
    ),
    "chunked past the limit": (
        b"POST /api/drawings HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n",
        lambda: (b"100000\r\n" + b"x" * (1 << 20) + b"\r\n" for _ in range(80)),
        {413},
    ),
    "chunked with a bad chunk size": (
        b"POST /api/drawings HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n",
        lambda: iter(()),
        {400},
    ),
    "NUL byte in the path": (
        b"GET /a\x00b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        lambda: iter(()),
        {400},
    ),
    "encoded NUL byte in the path": (
        b"GET /%00/index.html HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        lambda: iter(()),
        {400},
    ),
    "encoded NUL byte in an API path": (
        b"GET /api/stats%00 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        lambda: iter(()),
        {400},
    ),
    "300-character path segment": (
        b"GET /" + b"a" * 300 + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        lambda: iter(()),
        {414},
    ),
    "300-character API path segment": (
        b"GET /api/" + b"a" * 300 + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        lambda: iter(()),
        {414},
    ),
    "a path too deep for the file system": (
        b"GET /"
        + b"/".join([b"a" * 200] * 40)
        + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        lambda: iter(()),
        {404},
    ),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_request_is_refused_and_the_server_keeps_serving(hostile_server, case):
    head, body, statuses = HOSTILE[case]
    status, _ = raw_exchange(hostile_server, head, body())
    assert status in statuses
    assert hostile_server.request("GET", "/api/stats")[0] == 200
    assert hostile_server.request("GET", "/")[0] == 200


def test_a_well_formed_chunked_drawing_is_stored(hostile_server):
    """Chunked transfer is HTTP/1.1: decoded, it is validated like any other body."""
    body = json.dumps(drawing_body()).encode()
    head = (
        b"POST /api/drawings HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    )
    chunks = iter([b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)])
    status, answer = raw_exchange(hostile_server, head, chunks)
    assert status == 201 and json.loads(answer)["id"] == json.loads(body)["id"]


def test_twenty_clients_opening_500_connections_are_all_answered(hostile_server):
    """A crowd connects at once: every connection is queued and answered, none is reset."""
    start = threading.Barrier(20)
    outcomes: list[int | str] = []
    lock = threading.Lock()

    def client() -> None:
        start.wait(30)
        for _ in range(25):
            try:
                status = hostile_server.request("GET", "/api/stats")[0]
            except OSError as error:
                status = type(error).__name__
            with lock:
                outcomes.append(status)

    threads = [threading.Thread(target=client) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert outcomes == [200] * 500


def test_import_beside_serve_on_one_data_counts_every_drawing_once(server, tmp_path):
    """The maintainer imports the 2017 images while the kiosk takes drawings: two processes
    write, tag and count in one local store, and each counts what it sees."""
    import io

    from PIL import Image

    from chalicelib.raster import render_png

    folder = tmp_path / "2017" / "Ж"
    folder.mkdir(parents=True)
    for i in range(12):
        strokes = [[[10 + 5 * i, 90], [10, 90], [0, 1]], [[90, 10], [10, 90], [2, 3]]]
        ink = Image.open(io.BytesIO(render_png(strokes, 100, 100)))
        white = Image.new("RGBA", ink.size, (255, 255, 255, 255))
        Image.alpha_composite(white, ink).convert("RGB").save(folder / f"{i:013x}.png")
    bodies = [drawing_body(letter="Ж") for _ in range(12)]
    command = [sys.executable, "-m", "comnist", "import", str(folder.parent)]
    command += ["--alphabet", "cyrillic", "--data", str(server.data)]
    importer = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL)
    start = threading.Barrier(4)
    answers: list[int] = []

    def phone(mine: list[dict]) -> None:
        start.wait(30)
        answers.extend(post_drawing(server, body)[0] for body in mine)

    phones = [threading.Thread(target=phone, args=(bodies[i::4],)) for i in range(4)]
    for thread in phones:
        thread.start()
    for thread in phones:
        thread.join(120)
    assert importer.wait(120) == 0
    assert answers == [201] * 12

    store = LocalStorage(server.data / "drawings")
    deadline, count = time.monotonic() + 60, 0
    while time.monotonic() < deadline and count < 24:
        count = letter_count(store, "cyrillic", "Ж")
        time.sleep(0.3)
    assert count == 24
    time.sleep(1)  # late duplicates would show now
    rows = comnist_list(server.data, "--letter", "Ж")
    assert letter_count(store, "cyrillic", "Ж") == len(rows) == 24
    accepted = sum(row["status"] not in ("suspicious", "invalid") for row in rows)
    answer = json.loads(server.request("GET", "/api/stats")[2])["alphabets"]["cyrillic"]
    assert answer["total"] == answer["letters"]["Ж"] == accepted
