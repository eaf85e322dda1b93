"""The reference CNN on a release's own files, and the upload of a release to the Hugging Face Hub.

PyTorch (CPU build) is a test dependency (`make setup` installs the ``cnn`` extra): the pipeline
really trains here, for one epoch on a tiny release; the test checks what it reports, not a
figure. The Hub cannot be reached from here: ``comnist publish`` talks to a stand-in of the Hub's
HTTP API on 127.0.0.1 (``HF_ENDPOINT``), which records every request huggingface_hub sends.
"""

from __future__ import annotations

import base64
import gzip
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from test_release_export import fill, metadata

from chalicelib.storage import LocalStorage
from comnist.cli import main
from comnist.release.export import ExportOptions, export_release
from comnist.release.reference import split_fingerprint

OPTIONS = ExportOptions(seed=3, include_unscored=True, version="2026.11")


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> LocalStorage:
    store = LocalStorage(tmp_path_factory.mktemp("data") / "drawings")
    fill(store)
    return store


@pytest.fixture(scope="module")
def release(store, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("release") / "r"
    export_release(store, out, OPTIONS)
    return out


# -------------------------------------------------------------------------- the reference CNN


def test_the_cnn_pipeline_trains_on_the_release_and_the_datasheet_prints_its_figures(
    store, release, tmp_path, capsys
):
    import torch

    figures_file = tmp_path / "cnn.json"
    command = ["baseline", str(release), "--cnn", "--epochs", "1", "--seeds", "4,5"]
    assert main([*command, "--out", str(figures_file)]) == 0
    assert "cyrillic: CNN test accuracy" in capsys.readouterr().out
    figures = json.loads(figures_file.read_text(encoding="utf-8"))
    assert figures["torch"] == torch.__version__ and figures["release"] == "2026.11"
    assert figures["split_fingerprint"] == split_fingerprint(release / "metadata.csv")
    rows = metadata(release)
    for alphabet in ("cyrillic", "latin"):
        measured = figures["alphabets"][alphabet]
        counts = {
            s: sum(1 for r in rows if (r["alphabet"], r["split"]) == (alphabet, s))
            for s in ("train", "validation", "test")
        }
        assert measured["images"] == counts
        assert measured["seeds"] == [4, 5] and len(measured["test_accuracy"]) == 2
        assert all(0 <= a <= 1 for a in measured["test_accuracy"] + measured["validation_accuracy"])
        # Per-letter figures pool the seeds: they add up to the mean of the runs' accuracies.
        per_letter = measured["per_letter"]
        tested = {r["letter"] for r in rows if (r["alphabet"], r["split"]) == (alphabet, "test")}
        assert set(per_letter) == tested
        right = sum(v["accuracy"] * v["test_images"] for v in per_letter.values())
        mean = sum(measured["test_accuracy"]) / 2
        assert right / counts["test"] == pytest.approx(mean, abs=1e-3)
        wrong = sum(c["per_run"] for c in measured["top_confusions"])
        assert wrong == pytest.approx((1 - mean) * counts["test"], abs=0.01)

    out = tmp_path / "with-reference"
    export_release(store, out, ExportOptions(**{**OPTIONS.__dict__, "reference": figures_file}))
    readme = (out / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Reference CNN")[1].split("\n## ")[0]
    assert f"Measured on {figures['measured']} on this release" in section
    assert "(seed 4)" in section and "(seed 5)" in section
    assert "**cyrillic, test accuracy per letter**" in section

    other = tmp_path / "other-seed"
    export_release(
        store, other, ExportOptions(**{**OPTIONS.__dict__, "seed": 9, "reference": figures_file})
    )
    section = (other / "README.md").read_text(encoding="utf-8").split("### Reference CNN")[1]
    assert "**not this one**" in section


def test_the_committed_reference_was_measured_on_the_2017_sample_with_three_seeds(release):
    from comnist.release.reference import DEFAULT_REFERENCE

    figures = json.loads(DEFAULT_REFERENCE.read_text(encoding="utf-8"))
    cyrillic = figures["alphabets"]["cyrillic"]
    assert cyrillic["seeds"] == [0, 1, 2] and len(cyrillic["per_letter"]) == 33
    assert cyrillic["images"]["test"] > 800
    readme = (release / "README.md").read_text(encoding="utf-8")
    measured = f"Measured on {figures['measured']} on release {figures['release']} ("
    assert measured + "the 2017 CoMNIST sample" in readme
    assert "**not this one**" in readme.split(measured)[1].split("\n\n")[0]


# ------------------------------------------------------------------------------ publishing


class FakeHub(BaseHTTPRequestHandler):
    """The few Hub endpoints an upload of small files uses; every request is recorded."""

    requests: list[tuple[str, str, dict[str, str], bytes]] = []

    def _answer(self, status: int, value: object) -> None:
        body = json.dumps(value).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802
        self.requests.append(("GET", self.path, dict(self.headers), b""))
        self._answer(404, {"error": "not here"})

    def do_POST(self) -> None:  # noqa: N802
        body = self.rfile.read(int(self.headers.get("content-length") or 0))
        if self.headers.get("content-encoding") == "gzip":
            body = gzip.decompress(body)
        self.requests.append(("POST", self.path, dict(self.headers), body))
        host, port = self.server.server_address[:2]
        base = f"http://{host}:{port}"
        if self.path == "/api/repos/create":
            asked = json.loads(body)
            return self._answer(
                200, {"url": f"{base}/datasets/{asked['organization']}/{asked['name']}"}
            )
        if self.path == "/api/validate-yaml":
            return self._answer(200, {"errors": [], "warnings": []})
        if self.path.endswith("/preupload/main"):
            files = json.loads(body)["files"]
            answer = [
                {"path": f["path"], "uploadMode": "regular", "shouldIgnore": False} for f in files
            ]
            return self._answer(200, {"files": answer})
        if self.path.endswith("/commit/main"):
            url = base + self.path.removeprefix("/api").replace(
                "/commit/main", "/commit/" + "c" * 40
            )
            return self._answer(200, {"commitUrl": url, "commitOid": "c" * 40})
        self._answer(404, {"error": "not here"})

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def hub(monkeypatch):
    FakeHub.requests = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeHub)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    endpoint = f"http://127.0.0.1:{server.server_address[1]}"
    monkeypatch.setenv("HF_ENDPOINT", endpoint)
    monkeypatch.setenv("HF_TOKEN", "hf_test_token")
    monkeypatch.setenv("HF_HUB_DISABLE_TELEMETRY", "1")
    import huggingface_hub.constants as constants

    monkeypatch.setattr(constants, "ENDPOINT", endpoint)  # read when huggingface_hub loaded
    # The loading tests run the datasets library offline, which huggingface_hub also reads once.
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    yield FakeHub.requests
    server.shutdown()
    thread.join()


def test_publish_sends_the_card_croissant_metadata_and_shards_in_one_commit(release, hub, capsys):
    assert main(["publish", str(release), "--repo", "comnist/letters"]) == 0
    assert "/datasets/comnist/letters/commit/" in capsys.readouterr().out
    sent = [(method, path) for method, path, _, _ in hub if method == "POST"]
    assert sent[0] == ("POST", "/api/repos/create")
    created = json.loads(hub[[p for _, p, _, _ in hub].index("/api/repos/create")][3])
    assert (created["type"], created["organization"], created["name"]) == (
        "dataset",
        "comnist",
        "letters",
    )
    assert ("POST", "/api/datasets/comnist/letters/commit/main") in sent
    for method, path, headers, _ in hub:
        if method == "POST":
            assert headers.get("authorization") == "Bearer hf_test_token", path

    commit = next(body for _, path, _, body in hub if path.endswith("/commit/main"))
    lines = [json.loads(line) for line in commit.decode().splitlines()]
    files = {
        line["value"]["path"]: base64.b64decode(line["value"]["content"])
        for line in lines
        if line["key"] == "file"
    }
    expected = {"README.md", "croissant.json", "CITATION.cff", "metadata.csv"}
    expected |= {p.relative_to(release).as_posix() for p in (release / "data").rglob("*.parquet")}
    expected |= {p.relative_to(release).as_posix() for p in (release / "preview").rglob("*.png")}
    assert set(files) == expected
    for name, content in files.items():
        assert content == (release / name).read_bytes(), name
    assert lines[0]["value"]["summary"] == "CoMNIST release 2026.11"


def test_publish_refuses_an_altered_or_unfinished_release_before_any_request(
    release, hub, tmp_path, capsys
):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(release, copy)
    with open(copy / "metadata.csv", "a", encoding="utf-8") as handle:
        handle.write("\n")
    assert main(["publish", str(copy), "--repo", "comnist/letters"]) == 1
    assert "metadata.csv does not match SHA256SUMS" in capsys.readouterr().err
    (copy / "SHA256SUMS").unlink()
    assert main(["publish", str(copy), "--repo", "comnist/letters"]) == 1
    assert "no finished release" in capsys.readouterr().err
    assert main(["publish", str(release), "--repo", "not a repo"]) == 1
    assert not [request for request in hub if request[0] == "POST"]
