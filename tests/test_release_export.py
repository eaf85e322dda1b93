"""``comnist export``: formats, split, exclusions, privacy, reproducibility and resuming."""

from __future__ import annotations

import csv
import gzip
import io
import os
import re
import struct
import uuid
import zipfile
from pathlib import Path

import numpy as np
import pytest

from chalicelib import sanitizing
from chalicelib.intake import submit_contributor
from chalicelib.keys import DrawingRef
from chalicelib.raster import render_png
from chalicelib.storage import LocalStorage, S3Storage, Storage
from chalicelib.validation import validate_contributor
from comnist.cli import main
from comnist.release.export import SECRET_KEY, ExportOptions, export_release, state_dir
from comnist.release.idxfiles import MnistWriter

NAME = "Zinaida Secretnameova"
EMAIL = "zinaida.private@example.org"
SHAPES = {  # simple strokes per letter on a 100x100 canvas
    "Г": [[[20, 20, 80], [90, 10, 10]]],
    "Л": [[[15, 50, 85], [90, 10, 90]]],
    "О": [[[50, 85, 50, 15, 50], [10, 50, 90, 50, 10]]],
    "T": [[[10, 90], [10, 10]], [[50, 50], [10, 90]]],
    "L": [[[20, 20, 80], [10, 90, 90]]],
}


def with_times(stroke: list[list[int]]) -> list[list[int]]:
    return [*stroke, [10 * i for i in range(len(stroke[0]))]]


def drawing(
    store: Storage,
    alphabet: str,
    letter: str,
    session: str | None,
    n: int,
    tagged: bool = True,
    **tags: str,
) -> DrawingRef:
    """Store one synthetic drawing as the collector would, with ``tags`` on its PNG if ``tagged``."""
    strokes = [with_times([[x + n % 5 for x in s[0]], s[1]]) for s in SHAPES[letter]]
    ref = DrawingRef(alphabet, letter, str(uuid.UUID(int=n * 7919 + 17, version=4)))
    record = {
        "id": ref.id,
        "session": session,
        "alphabet": alphabet,
        "letter": letter,
        "code_point": ref.code_point,
        "strokes": strokes if session else None,
        "canvas": {"width": 100, "height": 100} if session else None,
        "device": {"pointer": "touch", "dpr": 2.0},
        "locale": "ru",
        "created": f"2026-11-{10 + n % 10:02d}T10:00:{n % 60:02d}.000Z",
        "country": "DE",
        "source": None if session else f"{letter.lower()}/{0x58A10000 + n * 3:08x}1a2b3.png",
        "body_sha256": "0" * 64,
    }
    store.put_json(ref.record_key, record)
    store.put(ref.png_key, render_png(strokes, 100, 100), content_type="image/png")
    verdict = tags.pop("verdict", None)
    if tagged:
        store.put_tags(ref.png_key, {"status": "ok", "score": "-1.5", **tags})
    if verdict:
        sanitizing.mark(store, ref.id, verdict)
    return ref


def fill(store: Storage, contributors: Storage | None = None) -> dict[str, DrawingRef]:
    """A small collection: 12 sessions over both alphabets, 2017-style imports, flagged drawings."""
    store.put_json(SECRET_KEY, {"secret": "ab" * 32})
    n = 0
    for s in range(12):
        session = str(uuid.UUID(int=s + 1000, version=4))
        for letter in ("Г", "Л", "О"):
            drawing(store, "cyrillic", letter, session, n := n + 1)
        if s % 2:
            drawing(store, "latin", "T", session, n := n + 1)
            drawing(store, "latin", "L", session, n := n + 1)
        if contributors is not None:
            body = {"session": session, "name": NAME, "email": EMAIL, "count": 3}
            body["consent"] = {"thanks_page": True, "updates": True}
            submit_contributor(contributors, validate_contributor(body))
    for _ in range(9):
        drawing(store, "cyrillic", "О", None, n := n + 1, status="unscored")
    special = {
        "suspicious": drawing(store, "cyrillic", "Г", "s-0", n + 1, status="suspicious"),
        "rejected": drawing(store, "cyrillic", "Л", "s-0", n + 2, verdict="rejected"),
        "approved": drawing(store, "latin", "T", "s-1", n + 3, status="suspicious", verdict="ok"),
        "pending": drawing(store, "latin", "L", "s-1", n + 4, tagged=False),
    }
    return special


def read_idx(path: Path) -> np.ndarray:
    """An IDX reader written from the format's spec (see also test_release_cores)."""
    data = gzip.decompress(path.read_bytes())
    magic = struct.unpack(">i", data[:4])[0]
    ndim = magic & 0xFF
    assert magic in (2049, 2051) and ndim == {2049: 1, 2051: 3}[magic]
    shape = struct.unpack(f">{ndim}i", data[4 : 4 + 4 * ndim])
    return np.frombuffer(data[4 + 4 * ndim :], dtype=np.uint8).reshape(shape)


def metadata(release: Path) -> list[dict[str, str]]:
    with open(release / "metadata.csv", encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def all_files(release: Path) -> dict[str, bytes]:
    return {
        path.relative_to(release).as_posix(): path.read_bytes()
        for path in sorted(release.rglob("*"))
        if path.is_file()
    }


def all_bytes(release: Path) -> list[bytes]:
    """Every file's bytes, with zips (and npz) unpacked and gzip streams inflated."""
    blobs = []
    for name, data in all_files(release).items():
        blobs.append(data)
        if name.endswith((".zip", ".npz")):
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                blobs += [name.encode() for name in archive.namelist()]
                blobs += [archive.read(name) for name in archive.namelist()]
        if name.endswith(".gz"):
            blobs.append(gzip.decompress(data))
    return blobs


@pytest.fixture(scope="module")
def collection(tmp_path_factory) -> tuple[Path, dict[str, DrawingRef]]:
    root = tmp_path_factory.mktemp("data")
    special = fill(LocalStorage(root / "drawings"), LocalStorage(root / "contributors"))
    return root, special


@pytest.fixture(scope="module")
def release(collection, tmp_path_factory) -> Path:
    root, _ = collection
    out = tmp_path_factory.mktemp("release") / "r"
    command = ["export", "--out", str(out), "--data", str(root), "--seed", "3"]
    assert main([*command, "--include-unscored", "--version", "2026.11"]) == 0
    return out


def test_release_has_every_format(release):
    names = set(all_files(release))
    for expected in (
        "README.md",
        "metadata.csv",
        "SHA256SUMS",
        "CITATION.cff",
        "Cyrillic.zip",
        "Latin.zip",
        "data/cyrillic/train-00000-of-00001.parquet",
        "data/latin/test-00000-of-00001.parquet",
        "mnist/cyrillic/train-images-idx3-ubyte.gz",
        "mnist/latin/test-labels-idx1-ubyte.gz",
        "mnist/cyrillic/mapping.txt",
        "mnist/latin/latin.npz",
        "strokes/cyrillic-raw.ndjson",
        "strokes/latin-simplified.ndjson",
        "preview/cyrillic.png",
        "preview/latin.png",
    ):
        assert expected in names
    # The export's own state neither ships nor stays behind.
    assert not any(part.startswith(".") for name in names for part in name.split("/"))
    assert not state_dir(release).exists()


def test_idx_files_match_metadata_and_images_are_centred(release):
    rows = metadata(release)
    for alphabet in ("cyrillic", "latin"):
        for split in ("train", "test"):
            images = read_idx(release / f"mnist/{alphabet}/{split}-images-idx3-ubyte.gz")
            labels = read_idx(release / f"mnist/{alphabet}/{split}-labels-idx1-ubyte.gz")
            expected = [r for r in rows if r["alphabet"] == alphabet and r["split"] == split]
            assert images.shape == (len(expected), 28, 28) and len(labels) == len(expected)
            assert [int(r["label"]) for r in expected] == labels.tolist()
            for image in images:
                weights = image.astype(float)
                rows_c = weights.sum(axis=1) @ np.arange(28) / weights.sum()
                cols_c = weights.sum(axis=0) @ np.arange(28) / weights.sum()
                assert np.hypot(rows_c - 14, cols_c - 14) <= 1
            npz = np.load(release / f"mnist/{alphabet}/{alphabet}.npz")
            assert np.array_equal(npz[f"x_{split}"], images)
            assert np.array_equal(npz[f"y_{split}"], labels)


def test_no_session_is_in_both_splits_and_pseudo_sessions_group_imports(release):
    rows = metadata(release)
    sides: dict[str, set[str]] = {}
    for row in rows:
        sides.setdefault(row["session"], set()).add(row["split"])
    assert all(len(s) == 1 for s in sides.values())
    assert {row["split"] for row in rows} == {"train", "validation", "test"}
    imported = [row for row in rows if row["source"]]
    assert len(imported) == 9
    # names 3 s apart: one pseudo-session
    assert len({row["session"] for row in imported}) == 1
    assert all(re.fullmatch(r"[0-9a-f]{16}", row["session"]) for row in rows)


def test_flagged_drawings_are_left_out_unless_asked(collection, release, tmp_path):
    root, special = collection
    ids = {row["id"] for row in metadata(release)}
    assert special["suspicious"].id not in ids and special["pending"].id not in ids
    assert special["rejected"].id not in ids and special["approved"].id in ids
    out = tmp_path / "all"
    options = ExportOptions(include_suspicious=True, include_unscored=True, formats=("mnist",))
    export_release(LocalStorage(root / "drawings"), out, options)
    ids = {row["id"] for row in metadata(out)}
    assert special["suspicious"].id in ids and special["pending"].id in ids
    assert special["rejected"].id not in ids


def test_release_holds_no_names_emails_sessions_or_countries(collection, release):
    root, _ = collection
    sessions = [str(uuid.UUID(int=s + 1000, version=4)) for s in range(12)]
    needles = [NAME.encode(), EMAIL.encode(), b"Secretnameova", b"zinaida", b'"DE"']
    needles += [s.encode() for s in sessions]
    for blob in all_bytes(release):
        lowered = blob.lower()
        for needle in needles:
            assert needle.lower() not in lowered


def test_strokes_raw_and_simplified(release):
    import json

    raw = [json.loads(line) for line in (release / "strokes/latin-raw.ndjson").open()]
    simple = [json.loads(line) for line in (release / "strokes/latin-simplified.ndjson").open()]
    assert len(raw) == len(simple) == 13  # 6 sessions x 2 letters + the approved one
    assert raw[0]["key_id"] == simple[0]["key_id"] and len(raw[0]["drawing"][0]) == 3
    for line in simple:
        values = [v for stroke in line["drawing"] for axis in stroke for v in axis]
        assert min(values) == 0 and max(values) == 255


def snippets(release: Path) -> dict[str, str]:
    """The datasheet's Python snippets by the heading above them."""
    text = (release / "README.md").read_text(encoding="utf-8")
    return dict(re.findall(r"### ([^\n]+)\n\n```python\n(.*?)```", text, re.S))


def test_readme_numpy_and_dataset_snippets_run(release, monkeypatch):
    code = snippets(release)
    assert {"numpy (IDX, EMNIST mapping)", "PyTorch `Dataset`"} <= set(code)
    monkeypatch.chdir(release)
    namespace: dict = {}
    exec(code["numpy (IDX, EMNIST mapping)"], namespace)
    assert namespace["x_train"].shape[1:] == (28, 28)
    assert namespace["letters"][namespace["y_train"][0]] in "ГЛО"

    dataset_code = code["PyTorch `Dataset`"]
    assert len([line for line in dataset_code.splitlines() if line.strip()]) <= 16
    namespace = {}
    exec(dataset_code, namespace)
    rows = [r for r in metadata(release) if (r["alphabet"], r["split"]) == ("cyrillic", "train")]
    train = namespace["train"]
    assert len(train) == len(rows)
    for i in (0, len(train) - 1):
        image, label = train[i]
        assert label == int(rows[i]["label"]) and image.mode == "L"
        assert np.asarray(image).min() < 64 and np.median(np.asarray(image)) == 255


def test_re_export_is_byte_identical_and_resumes(collection, release, tmp_path, monkeypatch):
    root, _ = collection
    store = LocalStorage(root / "drawings")
    options = ExportOptions(seed=3, include_unscored=True, version="2026.11")
    again = tmp_path / "again"
    export_release(store, again, options)
    assert all_files(again) == all_files(release)

    resumed = tmp_path / "resumed"
    close = MnistWriter.close

    def crash_on_latin(self):
        if self.alphabet.id == "latin":
            raise KeyboardInterrupt
        return close(self)

    monkeypatch.setattr(MnistWriter, "close", crash_on_latin)
    with pytest.raises(KeyboardInterrupt):
        export_release(store, resumed, options)
    monkeypatch.setattr(MnistWriter, "close", close)
    assert state_dir(resumed).is_dir() and not (resumed / "SHA256SUMS").exists()
    assert not (resumed / "mnist/latin/train-images-idx3-ubyte.gz").exists()  # no half files
    zip_time = os.stat(resumed / "Cyrillic.zip").st_mtime_ns
    export_release(store, resumed, options)
    assert os.stat(resumed / "Cyrillic.zip").st_mtime_ns == zip_time  # finished part kept
    assert all_files(resumed) == all_files(release)
    assert not state_dir(resumed).exists()

    other = tmp_path / "other-seed"
    export_release(store, other, ExportOptions(seed=4, include_unscored=True, version="2026.11"))
    assert (other / "metadata.csv").read_bytes() != (release / "metadata.csv").read_bytes()


def test_export_refuses_a_directory_that_holds_something_else(collection, tmp_path):
    root, _ = collection
    (tmp_path / "notes.txt").write_text("mine")
    assert main(["export", "--out", str(tmp_path), "--data", str(root)]) == 1
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_export_from_s3_matches_the_local_store(release, tmp_path, monkeypatch):
    import moto

    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    import boto3

    with moto.mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket="drawings")
        fill(S3Storage("drawings", client))
        out = tmp_path / "s3"
        options = ExportOptions(seed=3, workers=4, include_unscored=True, version="2026.11")
        export_release(S3Storage("drawings", client), out, options)
    assert all_files(out) == all_files(release)
