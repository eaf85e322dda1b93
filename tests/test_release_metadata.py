"""What a release says about itself: croissant.json, the datasheet's limits, its dates and times.

croissant.json is validated by ``mlcroissant`` and streamed as a user would; no timestamp of a
release is finer than the day the datasheet documents; copies shared by two alphabets are marked.
"""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from test_import import RING, ZHE, on_white, with_times
from test_release_export import all_files, fill, metadata

from chalicelib.alphabets import alphabets
from chalicelib.keys import parse_drawing_key
from chalicelib.storage import LocalStorage
from comnist.release.export import ExportOptions, export_release
from comnist.release.importer import import_directory

OPTIONS = ExportOptions(seed=3, include_unscored=True, version="2026.11")
FINER_THAN_A_DAY = re.compile(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d")


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


# ---------------------------------------------------------------------------------- croissant


def test_croissant_is_valid_and_streams_every_record_set(release):
    import mlcroissant as mlc

    dataset = mlc.Dataset(jsonld=release / "croissant.json")  # raises on any validation error
    issues = dataset.metadata.ctx.issues
    assert not issues.errors, issues.report()
    assert dataset.metadata.ctx.is_v1_1()
    names = [record_set.id for record_set in dataset.metadata.record_sets]
    assert names == ["splits", "metadata", "cyrillic", "latin"]

    splits = [r["splits/name"] for r in dataset.records(record_set="splits")]
    assert splits == [b"train", b"validation", b"test"] or splits == ["train", "validation", "test"]

    rows = metadata(release)
    streamed = list(dataset.records(record_set="metadata"))
    assert len(streamed) == len(rows)
    first = {k.split("/")[1]: v for k, v in streamed[0].items()}
    assert first["id"].decode() == rows[0]["id"] and first["label"] == int(rows[0]["label"])

    for alphabet in ("cyrillic", "latin"):
        record = next(iter(dataset.records(record_set=alphabet)))
        row = next(r for r in rows if r["id"] == record[f"{alphabet}/id"].decode())
        assert record[f"{alphabet}/label"] == int(row["label"])
        assert record[f"{alphabet}/letter"].decode() == row["letter"]
        image = record[f"{alphabet}/image"]
        assert image.size == (278, 278) and image.convert("L").getextrema() == (0, 255)


def test_croissant_names_the_files_it_hashes_and_the_checksums_cover_it(release):
    document = json.loads((release / "croissant.json").read_text(encoding="utf-8"))
    files = {item["@id"]: item for item in document["distribution"]}
    listed = dict(
        reversed(line.split("  ", 1))
        for line in (release / "SHA256SUMS").read_text(encoding="utf-8").splitlines()
    )
    assert files["metadata-csv"]["sha256"] == listed["metadata.csv"]
    assert "croissant.json" in listed
    assert files["parquet-latin"]["includes"] == "data/latin/*.parquet"
    assert files["png-cyrillic"]["includes"] == "Cyrillic/*/*.png"
    assert "datePublished" not in document  # the version 2026.11 is no date, and none was given


# ----------------------------------------------------------------------- the card and its dates


def test_card_names_split_sizes_task_ids_sources_and_creators(release):
    import yaml

    text = (release / "README.md").read_text(encoding="utf-8")
    card = yaml.safe_load(text.split("---\n")[1])
    assert card["task_ids"] == ["multi-class-image-classification"]
    assert card["source_datasets"] == ["original"]
    assert card["annotations_creators"] == ["crowdsourced"]
    rows = metadata(release)
    for info in card["dataset_info"]:
        alphabet = info["config_name"]
        sizes = {split["name"]: split["num_examples"] for split in info["splits"]}
        for split in ("train", "validation", "test"):
            expected = sum(1 for r in rows if (r["alphabet"], r["split"]) == (alphabet, split))
            assert sizes[split] == expected
            shards = sorted((release / "data" / alphabet).glob(f"{split}-*.parquet"))
            assert sum(pq.read_metadata(s).num_rows for s in shards) == expected


def test_dates_agree_between_the_datasheet_citation_and_croissant(store, tmp_path):
    out = tmp_path / "r"
    released = "2026-12-01"
    export_release(
        store,
        out,
        ExportOptions(seed=3, include_unscored=True, version="2026.12", released=released),
    )
    citation = (out / "CITATION.cff").read_text(encoding="utf-8")
    assert f'date-released: "{released}"' in citation and 'version: "2026.12"' in citation
    assert json.loads((out / "croissant.json").read_text())["datePublished"] == released
    assert "year = {2026}" in (out / "README.md").read_text(encoding="utf-8")
    from comnist.release.export import ExportError

    with pytest.raises(ExportError, match="before the latest drawing"):
        export_release(
            store, tmp_path / "early", ExportOptions(include_unscored=True, released="2017-01-01")
        )


# ------------------------------------------------------------------------------ timestamps


def release_texts(release: Path) -> dict[str, str]:
    """Every text a release holds, archives and parquet shards opened, by name."""
    texts = {}
    for name, data in all_files(release).items():
        if name.endswith(".zip"):
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                for info in archive.infolist():
                    assert info.date_time == (1980, 1, 1, 0, 0, 0), info
        elif name.endswith(".parquet"):
            table = pq.read_table(io.BytesIO(data)).drop(["image"])
            texts[name] = json.dumps(table.to_pylist(), ensure_ascii=False)
            texts[name + ":schema"] = str(pq.read_schema(io.BytesIO(data)).metadata)
        elif name.endswith((".csv", ".json", ".md", ".cff", ".ndjson", ".txt")) or "SUMS" in name:
            texts[name] = data.decode("utf-8")
    return texts


def test_a_release_has_no_timestamp_finer_than_the_day(store, release):
    stored = [
        store.get_json(parse_drawing_key(key).record_key)
        for key in store.list_keys("drawings/")
        if key.endswith(".png")
    ]
    assert any(FINER_THAN_A_DAY.match(str(record.get("created", ""))) for record in stored)
    texts = release_texts(release)
    assert texts["metadata.csv"] and any(name.endswith("-raw.ndjson") for name in texts)
    for name, text in texts.items():
        assert not FINER_THAN_A_DAY.search(text), name
    rows = metadata(release)
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\d", row["created"]) for row in rows)
    assert "drawn_at" not in rows[0]
    for line in (release / "strokes" / "cyrillic-raw.ndjson").read_text().splitlines():
        assert re.fullmatch(r"\d{4}-\d\d-\d\d", json.loads(line)["timestamp"])
    readme = texts["README.md"]
    assert "| when a drawing was stored (`created`) | the UTC day |" in readme
    assert "the device's own clock time of drawing" in readme


def test_the_device_clock_offset_cannot_be_read_from_a_release(tmp_path):
    """Two drawings whose device clocks are 137.4 s behind and 3.9 s ahead look alike."""
    from test_release_export import drawing

    store = LocalStorage(tmp_path / "drawings")
    refs = [drawing(store, "latin", "T", f"s-{n}", n) for n in range(1, 9)]
    clocks = ("2026-11-11T09:57:43.600Z", "2026-11-12T10:00:06.900Z")
    for ref, drawn_at in zip(refs[:2], clocks, strict=True):
        record = store.get_json(ref.record_key)
        store.put_json(ref.record_key, {**record, "drawn_at": drawn_at})
    export_release(store, tmp_path / "r", ExportOptions(formats=("mnist", "parquet", "strokes")))
    texts = release_texts(tmp_path / "r")
    for text in texts.values():
        assert "09:57" not in text and "10:00:06" not in text and "drawn_at" not in text


# ------------------------------------------------------------------- limitations, duplicates


def test_copies_filed_in_both_alphabets_are_marked_and_the_limits_are_said(tmp_path):
    shapes = {("cyrillic", "О"): RING, ("latin", "O"): RING, ("cyrillic", "Ж"): ZHE}
    for (alphabet, letter), shape in shapes.items():
        (tmp_path / alphabet / letter).mkdir(parents=True, exist_ok=True)
        for n in range(3):
            jitter = [[[x + n for x in s[0]], s[1]] for s in shape]
            name = f"{0x58A1B2C3 + 1000 * n + len(letter):08x}{n:05x}.png"
            (tmp_path / alphabet / letter / name).write_bytes(on_white(with_times(jitter)))
    store = LocalStorage(tmp_path / "data" / "drawings")
    for alphabet in ("cyrillic", "latin"):
        list(import_directory(store, tmp_path / alphabet, alphabets()[alphabet]))
    for key in store.list_keys("drawings/"):
        if key.endswith(".png"):
            store.put_tags(key, {"status": "ok"})
    out = tmp_path / "r"
    plan = export_release(store, out, ExportOptions(formats=("mnist", "parquet")))
    rows = {row["id"]: row for row in metadata(out)}
    marked = [row for row in rows.values() if row["same_image_as"]]
    assert len(marked) == 6 and plan.same_image == {"cyrillic": 3, "latin": 3}
    for row in marked:
        other = rows[row["same_image_as"]]
        assert {row["alphabet"], other["alphabet"]} == {"cyrillic", "latin"}
        assert other["same_image_as"] == row["id"]
        assert row["source"] == other["source"].replace("O/", "О/").replace("О/", row["source"][:2])
    zhe = [row for row in rows.values() if row["letter"] == "Ж"]
    assert zhe and not any(row["same_image_as"] for row in zhe)

    readme = (out / "README.md").read_text(encoding="utf-8")
    limits = readme.split("## Limitations")[1].split("\n## ")[0]
    assert "3 of the 6 cyrillic drawings and 3 of the 3 latin drawings are byte-identical" in limits
    assert "- **Cursive and variant forms.**" in limits
    assert "latin: 3 drawings by" in limits
    absent = [letter for letter in alphabets()["latin"].letters if letter != "O"]
    assert f"**latin: no drawing at all** of {', '.join(absent)}." in limits
    splits = {r["split"] for r in rows.values() if r["alphabet"] == "latin"}
    for split in ("test", "validation"):
        said = f"**latin: no {split} drawing** of O:" in limits
        assert said == (split not in splits), (split, splits)
    # Fields that do not exist in this release are not described as if they did.
    assert "strokes" not in readme.split("## How it was collected")[1].split("\n## ")[0].replace(
        "They have no strokes", ""
    )
    assert (
        "`age_group`: `child` or `adult`, as the participant said. Empty for every drawing"
        in readme
    )


# -------------------------------------------------------------------------- the command line


def test_export_from_a_data_folder_that_holds_no_store_fails_and_creates_nothing(tmp_path):
    typo = tmp_path / "dta"
    command = [sys.executable, "-m", "comnist", "export", "--out", str(tmp_path / "r")]
    result = subprocess.run(
        [*command, "--data", str(typo)], capture_output=True, text=True, timeout=300
    )
    assert result.returncode != 0
    assert f"{typo} holds no drawings store" in result.stderr
    assert not typo.exists() and not (tmp_path / "r").exists()


def test_metadata_csv_and_parquet_carry_the_same_columns(release):
    with open(release / "metadata.csv", encoding="utf-8", newline="") as handle:
        header = next(csv.reader(handle))
    shard = next((release / "data" / "cyrillic").glob("train-*.parquet"))
    assert sorted(pq.read_schema(shard).names) == sorted(["image", *header])
