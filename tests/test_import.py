"""``comnist import``: the 2017 layout into the store, through the collector's write and event path."""

from __future__ import annotations

import csv
import functools
import hashlib
import io
import struct
import zlib
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from chalicelib import config
from chalicelib.keys import parse_drawing_key
from chalicelib.raster import render_alpha, render_png
from chalicelib.storage import LocalStorage
from comnist.cli import main
from comnist.release.importer import decode

ZHE = [[[50, 50], [10, 90]], [[10, 50, 90], [10, 50, 10]], [[10, 50, 90], [90, 50, 90]]]
EL = [[[15, 50, 85], [90, 10, 90]]]
RING = [[[50, 85, 50, 15, 50], [10, 50, 90, 50, 10]]]


def on_white(strokes: list) -> bytes:
    """The strokes as the later 2017 copies hold them: RGB, black ink on white."""
    white = Image.new("RGBA", (278, 278), (255, 255, 255, 255))
    ink = Image.open(io.BytesIO(render_png(strokes, 100, 100)))
    buffer = io.BytesIO()
    Image.alpha_composite(white, ink).convert("RGB").save(buffer, format="PNG")
    return buffer.getvalue()


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def bomb() -> bytes:
    """A tiny PNG whose header announces 60,000 x 60,000 pixels."""
    header = struct.pack(">IIBBBBB", 60_000, 60_000, 8, 0, 0, 0, 0)
    body = zlib.compress(b"\0" * 60_001 * 4, 9)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", body)
        + png_chunk(b"IEND", b"")
    )


def with_times(strokes: list) -> list:
    return [[*s, list(range(len(s[0])))] for s in strokes]


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A 2017-style folder: lower- and upper-case letter folders, white and transparent images, junk."""
    root = tmp_path / "cyrillic"
    for name in ("ж", "Л", "О", "misc"):
        (root / name).mkdir(parents=True)
    (root / "ж" / "58a1b2c3d4e5f.png").write_bytes(on_white(with_times(ZHE)))
    (root / "Л" / "58a1b2c9aaaaa.png").write_bytes(render_png(with_times(EL), 100, 100))
    (root / "О" / "58a1b2d0bbbbb.png").write_bytes(on_white(with_times(RING)))
    (root / "О" / "copy-of-el.png").write_bytes(on_white(with_times(EL)))  # Л's ink, filed as О
    (root / "Л" / "notes.txt").write_text("not an image")
    (root / "Л" / "bomb.png").write_bytes(bomb())
    small = io.BytesIO()
    Image.new("RGB", (100, 100), "white").save(small, format="PNG")
    (root / "Л" / "small.png").write_bytes(small.getvalue())
    (root / "misc" / "58a1b2c3d4e60.png").write_bytes(on_white(with_times(RING)))
    return root


@pytest.fixture(autouse=True)
def own_stores(monkeypatch):
    """``comnist import`` installs its stores for the collector; undo it after each test."""
    monkeypatch.setattr(config, "_stores", {})


def run_import(folder: Path, data: Path, capsys) -> list[str]:
    assert main(["import", str(folder), "--alphabet", "cyrillic", "--data", str(data)]) == 0
    return capsys.readouterr().out.splitlines()


def test_white_and_transparent_backgrounds_give_the_same_ink():
    strokes = with_times(ZHE)
    white = decode(on_white(strokes))
    transparent = decode(render_png(strokes, 100, 100))
    assert np.array_equal(white, transparent)
    assert np.array_equal(transparent, np.asarray(render_alpha(strokes, 100, 100)))


def test_import_reports_refusals_stores_through_the_event_path_and_is_idempotent(
    folder, tmp_path, capsys
):
    data = tmp_path / "data"
    lines = run_import(folder, data, capsys)
    refused = {line.split("\t")[1]: line.split("\t")[2] for line in lines if "\t" in line}
    assert refused["Л/notes.txt"] == "not-an-image"
    assert refused["Л/bomb.png"].startswith("decompression-bomb")
    assert refused["Л/small.png"].startswith("wrong-size")
    assert refused["misc/58a1b2c3d4e60.png"].startswith("not in a folder named after a letter")
    assert (
        lines[-2] == "imported 4, duplicates within the folder 0, already in the store 0, refused 4"
    )
    # Too few drawings for any letter's own model: the starter letter check judges all four.
    scored = dict(part.split() for part in lines[-1].removeprefix("scored: ").split(", "))
    assert "unscored" not in scored and sum(map(int, scored.values())) == 4, lines[-1]

    store = LocalStorage(data / "drawings")
    keys = [key for key in store.list_keys("drawings/") if key.endswith(".png")]
    assert sorted(parse_drawing_key(key).letter for key in keys) == ["Ж", "Л", "О", "О"]
    for key in keys:
        ref = parse_drawing_key(key)
        assert store.get_tags(key)["status"] in ("unscored", "ok", "suspicious")
        record = store.get_json(ref.record_key)
        assert record["session"] is None and record["strokes"] is None
        assert record["source"].startswith(("ж/", "Л/", "О/"))
        image = Image.open(io.BytesIO(store.get(key).data))
        assert image.mode == "RGBA" and image.size == (278, 278)
        assert not np.asarray(image)[..., :3].any()  # black ink, the alpha carries it
    zhe = next(k for k in keys if parse_drawing_key(k).letter == "Ж")
    assert store.get_json(parse_drawing_key(zhe).record_key)["created"] == (
        "2017-02-13T13:21:07.872Z"  # uniqid 58a1b2c3 d4e5f
    )

    again = run_import(folder, data, capsys)
    assert (
        again[-2] == "imported 0, duplicates within the folder 0, already in the store 4, refused 4"
    )
    assert sorted(store.list_keys("drawings/")) == sorted(keys)

    assert main(["list", "--json", "--data", str(data)]) == 0
    listed = capsys.readouterr().out
    assert '"source": "ж/58a1b2c3d4e5f.png"' in listed


def test_import_into_a_bucket_is_idempotent(folder, monkeypatch):
    import moto

    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.setenv(name, "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    import boto3

    from chalicelib.alphabets import alphabets
    from chalicelib.storage import S3Storage
    from comnist.release.importer import import_directory

    with moto.mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket="drawings")
        store = S3Storage("drawings", client)
        first = Counter(o.result for o in import_directory(store, folder, alphabets()["cyrillic"]))
        second = Counter(o.result for o in import_directory(store, folder, alphabets()["cyrillic"]))
        pngs = [key for key in store.list_keys("drawings/") if key.endswith(".png")]
    assert first == {"imported": 4, "refused": 4}
    assert second == {"present": 4, "refused": 4}
    assert len(pngs) == 4


def test_a_shape_filed_in_both_alphabets_is_kept_in_each(tmp_path, capsys):
    """The 2017 collection filed A/А, O/О... once for both alphabets: both must keep it."""
    for alphabet, letter in (("cyrillic", "О"), ("latin", "O")):
        (tmp_path / alphabet / letter).mkdir(parents=True)
        (tmp_path / alphabet / letter / "58a1b2d0bbbbb.png").write_bytes(on_white(with_times(RING)))
    data = tmp_path / "data"
    for alphabet in ("cyrillic", "latin"):
        command = ["import", str(tmp_path / alphabet), "--alphabet", alphabet, "--no-scoring"]
        assert main([*command, "--data", str(data)]) == 0
        assert (
            capsys.readouterr().out.splitlines()[-1]
            == "imported 1, duplicates within the folder 0, already in the store 0, refused 0"
        )
    store = LocalStorage(data / "drawings")
    keys = [key for key in store.list_keys("drawings/") if key.endswith(".png")]
    refs = sorted((parse_drawing_key(k).alphabet, parse_drawing_key(k).letter) for k in keys)
    assert refs == [("cyrillic", "О"), ("latin", "O")]


def test_images_imported_under_the_pixels_hash_alone_are_not_imported_again(folder, tmp_path):
    from chalicelib.alphabets import alphabets
    from chalicelib.keys import DrawingRef
    from comnist.release.importer import content_id, import_directory

    store = LocalStorage(tmp_path / "drawings")
    ink = decode((folder / "ж" / "58a1b2c3d4e5f.png").read_bytes())
    earlier = DrawingRef("cyrillic", "Ж", content_id(hashlib.sha256(ink.tobytes()).digest()))
    store.put(earlier.png_key, b"stored by an earlier import", content_type="image/png")
    outcomes = {o.source: o for o in import_directory(store, folder, alphabets()["cyrillic"])}
    assert outcomes["ж/58a1b2c3d4e5f.png"].result == "present"
    assert outcomes["ж/58a1b2c3d4e5f.png"].id == earlier.id
    assert outcomes["Л/58a1b2c9aaaaa.png"].result == "imported"


def jittered(strokes: list, n: int) -> list:
    """``strokes`` moved and stretched a little, differently for each ``n``."""
    dx, dy, stretch = (n * 7) % 11 - 5, (n * 5) % 9 - 4, 1 + ((n * 3) % 7 - 3) / 30
    return [
        [[50 + (x - 50) * stretch + dx for x in s[0]], [50 + (y - 50) / stretch + dy for y in s[1]]]
        for s in strokes
    ]


def test_import_then_export_releases_scored_drawings_only(tmp_path, capsys, monkeypatch):
    """The maintainer's flow: import, then export with no flag; nothing ships unscored."""
    from chalicelib import sanitizing

    # Fewer classifier epochs than the default: the same fit, quicker, on this tiny collection.
    monkeypatch.setattr(
        sanitizing, "run_refit", functools.partial(sanitizing.run_refit, classifier_epochs=5)
    )
    root = tmp_path / "cyrillic"
    for letter, shape in (("Ж", ZHE), ("Л", EL), ("О", RING)):
        (root / letter).mkdir(parents=True)
        for n in range(24):
            name = f"{0x58A1B2C3 + 90 * n + 3 * len(shape):08x}{n:05x}.png"
            (root / letter / name).write_bytes(on_white(with_times(jittered(shape, n))))
    data = tmp_path / "data"
    lines = run_import(root, data, capsys)
    assert (
        lines[-2]
        == "imported 72, duplicates within the folder 0, already in the store 0, refused 0"
    )
    assert "unscored" not in lines[-1]
    out = tmp_path / "release"
    assert main(["export", "--out", str(out), "--data", str(data), "--formats", "mnist"]) == 0
    with open(out / "metadata.csv", encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert rows and {row["status"] for row in rows} <= {"ok"}
    assert {row["letter"] for row in rows} == {"Ж", "Л", "О"}
    readme = (out / "README.md").read_text(encoding="utf-8")
    assert "never checked by a model" not in readme and "| `ok` |" in readme


def test_the_same_image_twice_in_the_folder_is_reported_as_a_duplicate_not_as_present(
    tmp_path, capsys
):
    root = tmp_path / "cyrillic"
    (root / "Л").mkdir(parents=True)
    (root / "Л" / "58a1b2c9aaaaa.png").write_bytes(on_white(with_times(EL)))
    (root / "Л" / "58a1b2d9aaaaa.png").write_bytes(on_white(with_times(EL)))
    (root / "Л" / "58a1b2e9aaaaa.png").write_bytes(on_white(with_times(ZHE)))
    data = tmp_path / "data"
    command = ["import", str(root), "--alphabet", "cyrillic", "--no-scoring", "--data", str(data)]
    assert main(command) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        "duplicate\tЛ/58a1b2d9aaaaa.png\tsame image as Л/58a1b2c9aaaaa.png",
        "imported 2, duplicates within the folder 1, already in the store 0, refused 0",
    ]
    assert main(command) == 0
    assert capsys.readouterr().out.splitlines()[-1] == (
        "imported 0, duplicates within the folder 0, already in the store 3, refused 0"
    )


def test_drawings_imported_without_refitting_are_judged_by_the_starter_and_released(
    tmp_path, capsys
):
    """With no model of its own, a store's events score with the starter letter check: nothing
    imported is ``unscored``, so the export's refusal of unscored drawings does not arise."""
    root = tmp_path / "cyrillic"
    for letter, shape in (("Ж", ZHE), ("Л", EL)):
        (root / letter).mkdir(parents=True)
        for n in range(3):
            name = f"{0x58A1B2C3 + 90 * n + 3 * len(shape):08x}{n:05x}.png"
            (root / letter / name).write_bytes(on_white(with_times(jittered(shape, n))))
    data = tmp_path / "data"
    command = ["import", str(root), "--alphabet", "cyrillic", "--no-scoring", "--data", str(data)]
    assert main(command) == 0
    store = LocalStorage(data / "drawings")
    keys = [key for key in store.list_keys("drawings/") if key.endswith(".png")]
    statuses = Counter(store.get_tags(key)["status"] for key in keys)
    assert len(keys) == 6 and "unscored" not in statuses, statuses
    out = tmp_path / "release"
    assert main(["export", "--out", str(out), "--data", str(data), "--formats", "mnist"]) == 0
