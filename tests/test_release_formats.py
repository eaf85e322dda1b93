"""Each release format as its users load it: PIL and ImageFolder, ``datasets``, an IDX reader, numpy.

Every format must show the letter (dark ink on a light background once in RGB), carry the labels
and splits of ``metadata.csv``, and be listed with a verifiable checksum.
"""

from __future__ import annotations

import hashlib
import io
import uuid
import zipfile
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image
from test_release_export import SHAPES, all_files, drawing, fill, metadata, read_idx

from chalicelib.alphabets import alphabets
from chalicelib.keys import DrawingRef
from chalicelib.raster import render_png
from chalicelib.storage import LocalStorage
from comnist.cli import main
from comnist.release import baselines
from comnist.release.export import ExportOptions, export_release, state_dir
from comnist.release.records import FORMULA_STARTS

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


def shows_a_letter(image: Image.Image) -> bool:
    """Dark ink on a light background, as a person looking at the RGB image would see it."""
    rgb = np.asarray(image.convert("RGB"), dtype=np.int32)
    grey = rgb.mean(axis=2)
    return bool(np.median(grey) >= 240 and grey.min() <= 40 and (grey < 128).mean() < 0.5)


def rows_of(release: Path, alphabet: str, split: str) -> list[dict[str, str]]:
    return [r for r in metadata(release) if (r["alphabet"], r["split"]) == (alphabet, split)]


# ------------------------------------------------------------------------------------- PNG tree


def test_every_png_is_opaque_greyscale_and_shows_its_letter(release):
    rows = metadata(release)
    assert rows
    for row in rows:
        image = Image.open(release / row["file_name"])
        assert image.mode == "L" and image.size == (278, 278)
        assert shows_a_letter(image)
        assert shows_a_letter(image.convert("L")) and shows_a_letter(image.convert("RGBA"))


def test_zip_holds_the_png_folder_byte_for_byte(release):
    for folder in ("Cyrillic", "Latin"):
        with zipfile.ZipFile(release / f"{folder}.zip") as archive:
            members = {name: archive.read(name) for name in archive.namelist()}
        on_disk = {n: b for n, b in all_files(release).items() if n.startswith(f"{folder}/")}
        assert members == on_disk


def test_imagefolder_class_indices_are_documented_beside_the_labels(release):
    """torchvision's ImageFolder numbers the sorted folder names; the datasheet gives both."""
    readme = (release / "README.md").read_text(encoding="utf-8")
    for alphabet in ("cyrillic", "latin"):
        folder = release / alphabet.capitalize()
        classes = sorted(entry.name for entry in folder.iterdir() if entry.is_dir())
        letters = alphabets()[alphabet].letters
        for index, letter in enumerate(classes):
            label = letters.index(letter)
            assert f"| {label} | {letter} | U+{ord(letter):04X} | {index} |" in readme


# --------------------------------------------------------------------------- Hugging Face parquet


@pytest.fixture
def hf(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    import datasets

    load = datasets.load_dataset
    cache = str(tmp_path / "cache")
    return lambda *args, **kwargs: load(*args, cache_dir=cache, **kwargs)


def check_split(loaded, release: Path, alphabet: str) -> None:
    names = loaded["train"].features["label"].names
    assert names == list(alphabets()[alphabet].letters)
    assert set(loaded) == {"train", "validation", "test"}
    for split in ("train", "validation", "test"):
        rows = rows_of(release, alphabet, split)
        data = loaded[split]
        assert data["id"] == [r["id"] for r in rows]
        assert data["label"] == [int(r["label"]) for r in rows]
        assert [names[label] for label in data["label"]] == [r["letter"] for r in rows]
        assert not rows or shows_a_letter(data[0]["image"])
    assert rows_of(release, alphabet, "train") and rows_of(release, alphabet, "test")


def test_datasets_loads_the_release_directory_with_its_splits_and_letter_names(release, hf):
    check_split(hf(str(release)), release, "cyrillic")  # the card's default config
    check_split(hf(str(release), "latin"), release, "latin")


def test_datasets_parquet_loader_reads_the_same_without_the_card(release, hf):
    for alphabet in ("cyrillic", "latin"):
        check_split(hf("parquet", data_dir=str(release / "data" / alphabet)), release, alphabet)


def test_the_datasheet_snippet_for_datasets_runs(release, hf, monkeypatch):
    import datasets
    from test_release_export import snippets

    monkeypatch.setattr(datasets, "load_dataset", hf)
    monkeypatch.chdir(release)
    namespace: dict = {}
    exec(snippets(release)["Hugging Face `datasets`"], namespace)
    assert namespace["names"][0] == "А" and len(namespace["release"]["test"]) > 0


def test_card_header_and_citation_are_valid_yaml(release):
    text = (release / "README.md").read_text(encoding="utf-8")
    card = yaml.safe_load(text.split("---\n")[1])
    assert card["license"] == "cc-by-sa-4.0"
    assert card["task_categories"] == ["image-classification"]
    assert [c["config_name"] for c in card["configs"]] == ["cyrillic", "latin"]
    citation = yaml.safe_load((release / "CITATION.cff").read_text(encoding="utf-8"))
    assert citation["cff-version"] == "1.2.0" and citation["version"] == "2026.11"
    assert "# CoMNIST release 2026.11" in text and "@misc{comnist," in text


# ------------------------------------------------------------------------------------ IDX, EMNIST


def test_emnist_mapping_names_each_label_by_code_point(release):
    for alphabet in ("cyrillic", "latin"):
        lines = (release / f"mnist/{alphabet}/mapping.txt").read_text().splitlines()
        pairs = [tuple(map(int, line.split(" "))) for line in lines]
        assert pairs == [(i, ord(letter)) for i, letter in enumerate(alphabets()[alphabet].letters)]
        for split in ("train", "test"):
            labels = read_idx(release / f"mnist/{alphabet}/{split}-labels-idx1-ubyte.gz")
            letters = [chr(dict(pairs)[label]) for label in labels]
            assert letters == [r["letter"] for r in rows_of(release, alphabet, split)]


def test_mnist_arrays_keep_mnists_white_ink_on_black(release):
    images = read_idx(release / "mnist/cyrillic/train-images-idx3-ubyte.gz")
    assert (images[:, 0, :] == 0).all() and images.max(axis=(1, 2)).min() >= 200


# --------------------------------------------------------------------------------- the whole set


def test_checksums_cover_and_verify_every_file(release):
    listed = {}
    for line in (release / "SHA256SUMS").read_text(encoding="utf-8").splitlines():
        digest, name = line.split("  ", 1)
        listed[name] = digest
    files = all_files(release)
    assert set(listed) == set(files) - {"SHA256SUMS"}
    assert list(listed) == sorted(listed)
    for name, data in files.items():
        if name != "SHA256SUMS":
            assert hashlib.sha256(data).hexdigest() == listed[name], name


def test_preview_rows_are_labelled(release):
    sheet = np.asarray(Image.open(release / "preview/cyrillic.png"))
    assert sheet.shape[0] == 33 * 50 + 2
    for row in range(33):
        label_cell = sheet[2 + row * 50 : 2 + row * 50 + 48, :70]
        assert (label_cell < 128).any(), f"row {row} has no label"


def test_export_refuses_unscored_drawings_unless_asked(store, tmp_path, capsys):
    out = tmp_path / "refused"
    root = Path(store.root).parent
    assert main(["export", "--out", str(out), "--data", str(root)]) == 1
    message = capsys.readouterr().err
    assert "9 drawings are unscored" in message and "--include-unscored" in message
    assert not out.exists() and not state_dir(out).exists()


def test_records_that_could_trick_a_spreadsheet_are_left_out(tmp_path):
    store = LocalStorage(tmp_path / "drawings")
    good = [drawing(store, "latin", "T", str(uuid.UUID(int=s, version=4)), s) for s in range(1, 9)]
    record = store.get_json(good[0].record_key)
    store.put_json(
        good[0].record_key, {**record, "age_group": "adult", "drawn_at": record["created"]}
    )
    tricks = [
        ("age_group", '=HYPERLINK("http://x")'),
        ("created", "@SUM(A1)"),
        ("created", "2026-13-45T10:00:00Z"),  # no such day
    ]
    tricked = []
    for n, (field, value) in enumerate(tricks, start=20):
        ref = DrawingRef("latin", "L", str(uuid.UUID(int=n, version=4)))
        strokes = [[*s, list(range(len(s[0])))] for s in SHAPES["L"]]
        record = {**store.get_json(good[1].record_key), "id": ref.id, "strokes": strokes}
        store.put_json(ref.record_key, {**record, field: value})
        store.put(ref.png_key, render_png(strokes, 100, 100), content_type="image/png")
        store.put_tags(ref.png_key, {"status": "ok"})
        tricked.append(ref.id)
    imported = DrawingRef("latin", "L", str(uuid.UUID(int=40, version=4)))
    store.put_json(imported.record_key, {**record, "id": imported.id, "source": "-1+1/x.png"})
    store.put(imported.png_key, render_png(strokes, 100, 100), content_type="image/png")
    store.put_tags(imported.png_key, {"status": "ok"})
    tricked.append(imported.id)

    plan = export_release(store, tmp_path / "r", ExportOptions(formats=("mnist",)))
    assert plan.excluded["invalid-record"] == len(tricked)
    raw = (tmp_path / "r/metadata.csv").read_text(encoding="utf-8")
    rows = metadata(tmp_path / "r")
    assert {row["id"] for row in rows} == {ref.id for ref in good}
    assert not any(cell.startswith(FORMULA_STARTS) for row in rows for cell in row.values())
    assert "HYPERLINK" not in raw and "@SUM" not in raw
    first = next(row for row in rows if row["id"] == good[0].id)
    assert first["age_group"] == "adult" and "drawn_at" not in first  # the device's clock
    assert first["created"] == store.get_json(good[0].record_key)["created"][:10]
    assert all(row["age_group"] == "" for row in rows if row["id"] != good[0].id)


def test_an_alphabet_of_imported_images_only_gets_no_stroke_files_and_a_note(tmp_path):
    store = LocalStorage(tmp_path / "drawings")
    for n in range(1, 11):
        drawing(store, "cyrillic", "Г", None, n)
    out = tmp_path / "r"
    export_release(store, out, ExportOptions())
    assert not (out / "strokes").exists()
    readme = (out / "README.md").read_text(encoding="utf-8")
    assert "cyrillic: 10 of 10 drawings have no strokes" in readme
    assert "Latin" not in readme.split("##")[0]  # only the alphabets present


# ------------------------------------------------------------------------------------ baselines


def blobs(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Three classes of 28x28 images: a bar on the left, in the middle or on the right, noisy."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 3, n)
    images = rng.integers(0, 60, (n, 28, 28)).astype(np.uint8)
    for i, label in enumerate(labels):
        images[i, 4:24, 4 + 8 * label : 8 + 8 * label] = 255
    return images, labels


def write_idx(path: Path, array: np.ndarray) -> None:
    import gzip
    import struct

    header = struct.pack(f">I{array.ndim}I", (0x08 << 8) | array.ndim, *array.shape)
    path.write_bytes(gzip.compress(header + array.astype(np.uint8).tobytes()))


def test_baselines_learn_a_separable_task_and_score_every_test_image(tmp_path):
    files = []
    for split, n, seed in (("train", 300, 1), ("test", 150, 2)):
        images, labels = blobs(n, seed)
        for kind, array in (("images", images), ("labels", labels)):
            files.append(tmp_path / f"{split}-{kind}.gz")
            write_idx(files[-1], array)
    result = baselines.evaluate(*files, classes=3)
    assert result is not None and result.test_images == 150 and result.train_images == 300
    assert result.logistic_regression > 0.95 and result.knn > 0.95
    shuffled = baselines.knn_predict(
        np.eye(3, dtype=np.float32), np.array([2, 0, 1]), np.eye(3, dtype=np.float32), 3, k=1
    )
    assert shuffled.tolist() == [2, 0, 1]


def test_baselines_train_on_an_evenly_spaced_sample_of_a_large_file(tmp_path, monkeypatch):
    images, _ = blobs(50, 3)
    images[:, 0, 0] = np.arange(50)
    write_idx(tmp_path / "x.gz", images)
    sample = baselines.idx_sample(tmp_path / "x.gz", 10)
    assert sample[:, 0, 0].tolist() == np.linspace(0, 49, 10).astype(int).tolist()


def test_datasheet_reports_the_baselines(release):
    readme = (release / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Baselines")[1].split("##")[0]
    assert "| cyrillic |" in section and "| latin |" in section and "k-NN" in section


def test_a_release_loads_with_pil_rgb_from_its_zip(release):
    with zipfile.ZipFile(release / "Latin.zip") as archive:
        name = archive.namelist()[0]
        assert shows_a_letter(Image.open(io.BytesIO(archive.read(name))).convert("RGB"))


def test_large_splits_are_sharded_and_load_whole(store, tmp_path, hf, monkeypatch):
    from comnist.release import parquet

    monkeypatch.setattr(parquet, "SHARD_ROWS", 10)
    monkeypatch.setattr(parquet, "ROW_GROUP", 4)
    out = tmp_path / "sharded"
    export_release(store, out, ExportOptions(seed=3, include_unscored=True, formats=("parquet",)))
    names = sorted(p.name for p in (out / "data/cyrillic").iterdir())
    train = rows_of(out, "cyrillic", "train")
    shards = -(-len(train) // 10)
    assert [n for n in names if n.startswith("train")] == [
        f"train-{i:05d}-of-{shards:05d}.parquet" for i in range(shards)
    ]
    check_split(hf(str(out), "cyrillic"), out, "cyrillic")
