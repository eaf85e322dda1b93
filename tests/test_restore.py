"""``comnist pull`` backs a stage up into the local layout; ``comnist push`` restores a wiped bucket."""

from __future__ import annotations

import json

import moto  # noqa: F401  (moto before boto3)

from chalicelib import events, intake, sanitizing, stats
from chalicelib.keys import DrawingRef
from chalicelib.storage import LocalStorage, S3Storage
from chalicelib.validation import validate_drawing
from comnist.cloud import STORE_OWN_PREFIXES, TRANSIENT_PREFIXES
from factories import drawing_body


def run_comnist(*argv: str) -> int:
    from comnist.cli import main

    return main(list(argv))


def snapshot(store) -> dict[str, tuple]:
    """Every object with its bytes, type, metadata and tags."""
    result = {}
    for key in store.list_keys():
        obj = store.get(key)
        result[key] = (obj.data, obj.info.content_type, obj.info.metadata, store.get_tags(key))
    return result


COUNT_PREFIXES = ("stats/", "counted/")


def collection(aws) -> tuple[S3Storage, S3Storage, list[DrawingRef]]:
    """A stage's buckets with drawings scored and counted, one verdict and one contributor."""
    aws.create_bucket(Bucket="drawings")
    aws.create_bucket(Bucket="contributors")
    drawings, contributors = S3Storage("drawings", aws), S3Storage("contributors", aws)
    refs = []
    for letter in "ЖДЖ":
        body = drawing_body(letter=letter)
        assert intake.submit_drawing(drawings, validate_drawing(body))[0] == 201
        ref = DrawingRef("cyrillic", letter, body["id"])
        events.process_new_drawing(drawings, ref.png_key)
        refs.append(ref)
    sanitizing.mark(drawings, refs[0].id, "rejected")
    contributors.put_json("contributors/s.json", {"name": "Аня"})
    return drawings, contributors, refs


def test_a_wiped_bucket_is_restored_from_a_pull_to_identical_objects_and_tags(aws, tmp_path):
    drawings, contributors, refs = collection(aws)
    before = snapshot(drawings)
    goal_before = stats.public_stats(drawings, 1000)["alphabets"]["cyrillic"]["letters"]
    assert goal_before["Ж"] == 1, "two Ж, one of them rejected"
    assert any(key.startswith("limits/") for key in before), "the session cap's slots"
    data = tmp_path / "backup"
    command = ("--bucket", "drawings", "--data", str(data), "--contributors-bucket", "contributors")

    assert run_comnist("pull", *command) == 0
    local = LocalStorage(data / "drawings")
    kept = {k: v for k, v in before.items() if not k.startswith(TRANSIENT_PREFIXES)}
    assert snapshot(local) == kept, "the backup holds every object with its tags"

    for store in (drawings, contributors):  # leaked credentials, one bad command...
        for key in list(store.list_keys()):
            store.delete(key)
    assert run_comnist("push", *command) == 0

    restored = snapshot(drawings)
    expected = {k: v for k, v in kept.items() if not k.startswith(STORE_OWN_PREFIXES)}
    assert {k: v for k, v in restored.items() if not k.startswith(STORE_OWN_PREFIXES)} == expected
    assert restored[refs[0].png_key][3]["verdict"] == "rejected"
    # The counts are the bucket's own: its PNG events (here, the scheduled recount) rebuild them.
    stats.count_uncounted(drawings, intake.utc_now())
    assert stats.public_stats(drawings, 1000)["alphabets"]["cyrillic"]["letters"] == goal_before
    assert {k for k in snapshot(drawings) if k.startswith("counted/")} == {
        k for k in kept if k.startswith("counted/")
    }
    assert contributors.get_json("contributors/s.json") == {"name": "Аня"}


def test_a_second_pull_fetches_only_what_changed(aws, tmp_path, capsys):
    drawings, _, refs = collection(aws)
    data = tmp_path / "backup"
    assert run_comnist("pull", "--bucket", "drawings", "--data", str(data)) == 0
    first = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert first["copied"] > 0 and first["retagged"] == 0

    assert run_comnist("pull", "--bucket", "drawings", "--data", str(data)) == 0
    second = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert second == {"copied": 0, "unchanged": first["copied"], "retagged": 0}

    counts_before = {k: v[0] for k, v in snapshot(drawings).items() if k.startswith(COUNT_PREFIXES)}
    # A new verdict object, a tag on the PNG, and the goal's counts where the verdict moves them.
    sanitizing.mark(drawings, refs[1].id, "ok")
    counts_after = {k: v[0] for k, v in snapshot(drawings).items() if k.startswith(COUNT_PREFIXES)}
    recounted = sum(counts_before.get(k) != v for k, v in counts_after.items())
    assert run_comnist("pull", "--bucket", "drawings", "--data", str(data)) == 0
    third = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert third["copied"] == 1 + recounted and third["retagged"] == 1
    assert LocalStorage(data / "drawings").get_tags(refs[1].png_key)["verdict"] == "ok"
