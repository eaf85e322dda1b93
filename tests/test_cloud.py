"""``comnist bootstrap`` and ``comnist push`` against S3 (moto)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import moto  # noqa: F401  (moto before boto3)
import pytest

from chalicelib.storage import LocalStorage, S3Storage
from comnist.cloud import bootstrap, push

CHALICE_DIR = Path(__file__).resolve().parent.parent / "collector" / ".chalice"


@pytest.fixture
def aws_region() -> str:
    return "eu-west-1"  # outside us-east-1, buckets need a location constraint


def run_comnist(*argv: str) -> int:
    from comnist.cli import main

    return main(list(argv))


def test_bootstrap_creates_private_and_public_buckets_idempotently(aws, tmp_path, capsys):
    real_config = (CHALICE_DIR / "config.json").read_text()
    chalice_dir = tmp_path / ".chalice"
    shutil.copytree(CHALICE_DIR, chalice_dir)
    command = ("bootstrap", "--stage", "staging", "--region", "eu-west-1")
    assert run_comnist(*command, "--chalice-dir", str(chalice_dir)) == 0
    first = capsys.readouterr().out
    first_config = (chalice_dir / "config.json").read_text()
    assert run_comnist(*command, "--chalice-dir", str(chalice_dir)) == 0
    second = capsys.readouterr().out
    assert first.count("created s3://") == 3 and second.count("exists  s3://") == 3
    assert (chalice_dir / "config.json").read_text() == first_config, "a rerun changes nothing"
    names = bootstrap("staging", "eu-west-1", chalice_dir=chalice_dir)
    buckets = {b["Name"] for b in aws.list_buckets()["Buckets"]}
    assert set(names.values()) == buckets
    assert (CHALICE_DIR / "config.json").read_text() == real_config, "only the copy changes"
    for name in names.values():
        location = aws.get_bucket_location(Bucket=name)["LocationConstraint"]
        assert location == "eu-west-1"

    for private in (names["drawings"], names["contributors"]):
        block = aws.get_public_access_block(Bucket=private)["PublicAccessBlockConfiguration"]
        assert all(block.values())
        rules = aws.get_bucket_encryption(Bucket=private)["ServerSideEncryptionConfiguration"][
            "Rules"
        ]
        assert rules[0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    website = aws.get_bucket_website(Bucket=names["site"])
    assert website["IndexDocument"]["Suffix"] == "index.html"
    policy = json.loads(aws.get_bucket_policy(Bucket=names["site"])["Policy"])
    assert (
        policy["Statement"][0]["Action"] == "s3:GetObject"
        and policy["Statement"][0]["Principal"] == "*"
    )

    config = json.loads((chalice_dir / "config.json").read_text())
    stage = config["stages"]["staging"]
    assert stage["autogen_policy"] is False
    assert stage["environment_variables"]["COMNIST_DRAWINGS_BUCKET"] == names["drawings"]
    assert stage["environment_variables"]["COMNIST_CONTRIBUTORS_BUCKET"] == names["contributors"]
    assert stage["environment_variables"]["COMNIST_SITE_ORIGINS"].startswith(
        f"http://{names['site']}.s3-website"
    )
    assert "prod" in config["stages"], "other stages are kept"
    iam = json.loads((chalice_dir / stage["iam_policy_file"]).read_text())
    resources = {
        r
        for s in iam["Statement"]
        for r in ([s["Resource"]] if isinstance(s["Resource"], str) else s["Resource"])
    }
    assert f"arn:aws:s3:::{names['drawings']}/*" in resources
    assert f"arn:aws:s3:::{names['contributors']}/contributors/*" in resources
    assert not any(names["site"] in r for r in resources), (
        "the functions never touch the site bucket"
    )
    grants = {
        (action, resource)
        for s in iam["Statement"]
        for action in s["Action"]
        for resource in ([s["Resource"]] if isinstance(s["Resource"], str) else s["Resource"])
    }
    drawings, contributors = (f"arn:aws:s3:::{names[k]}" for k in ("drawings", "contributors"))
    logs = "arn:aws:logs:*:*:*"
    assert grants == {
        # what S3Storage calls on the drawings bucket: get/head, put, delete, tags, listing
        ("s3:GetObject", f"{drawings}/*"),
        ("s3:PutObject", f"{drawings}/*"),
        ("s3:DeleteObject", f"{drawings}/*"),
        ("s3:GetObjectTagging", f"{drawings}/*"),
        ("s3:PutObjectTagging", f"{drawings}/*"),
        ("s3:ListBucket", drawings),
        # one contributor record at a time, never deleted
        ("s3:GetObject", f"{contributors}/contributors/*"),
        ("s3:PutObject", f"{contributors}/contributors/*"),
        # only so that a missing record is a 404, not a 403
        ("s3:ListBucket", contributors),
        ("logs:CreateLogGroup", logs),
        ("logs:CreateLogStream", logs),
        ("logs:PutLogEvents", logs),
    }
    (listing,) = [s for s in iam["Statement"] if s["Resource"] == contributors]
    assert listing["Condition"] == {"StringLike": {"s3:prefix": ["contributors/*"]}}
    assert all(s["Effect"] == "Allow" for s in iam["Statement"])


def test_push_uploads_once_and_keeps_tags(aws, tmp_path):
    aws.create_bucket(
        Bucket="target", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
    )
    local = LocalStorage(tmp_path / "drawings")
    local.put_json("strokes/latin/U+0041/a.json", {"x": 1})
    local.put("drawings/latin/U+0041/a.png", b"png", content_type="image/png")
    local.put_tags("drawings/latin/U+0041/a.png", {"status": "ok", "verdict": "ok"})
    target = S3Storage("target", aws)
    assert push(local, target) == {"copied": 2, "skipped": 0}
    assert target.get_tags("drawings/latin/U+0041/a.png") == {"status": "ok", "verdict": "ok"}
    assert target.get_json("strokes/latin/U+0041/a.json") == {"x": 1}
    assert target.head("drawings/latin/U+0041/a.png").content_type == "image/png"
    local.put("drawings/latin/U+0041/b.png", b"png2", content_type="image/png")
    assert push(local, target) == {"copied": 1, "skipped": 2}
    assert sorted(target.list_keys()) == sorted(local.list_keys())


class RecordingStore(S3Storage):
    """An S3 store that records each upload and the tags it carried."""

    def __init__(self, bucket, client) -> None:
        super().__init__(bucket, client)
        self.uploads: list[tuple[str, dict]] = []

    def put(self, key, data, **kwargs):
        self.uploads.append((key, dict(kwargs.get("tags") or {})))
        return super().put(key, data, **kwargs)

    def put_tags(self, key, tags):
        raise AssertionError("tags travel with their object, never after it")


def test_push_sends_records_before_drawings_with_tags_in_the_upload(aws, tmp_path):
    aws.create_bucket(
        Bucket="target", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
    )
    local = LocalStorage(tmp_path / "drawings")
    ids = [f"{i:03d}" for i in range(40)]
    for i in ids:
        local.put(f"drawings/latin/U+0042/{i}.png", b"png", content_type="image/png")
        local.put_tags(f"drawings/latin/U+0042/{i}.png", {"status": "suspicious", "verdict": "ok"})
        local.put_json(f"strokes/latin/U+0042/{i}.json", {"id": i})
    local.put_json("stats/letters/latin/U+0042.json", {"count": 40, "pending": []})
    local.put_json("counted/latin/U+0042/000.json", {"counted": "2026-11-25T00:00:00.000Z"})
    target = RecordingStore("target", aws)
    assert push(local, target, workers=8) == {"copied": 80, "skipped": 0}
    assert not target.exists("stats/letters/latin/U+0042.json"), "the bucket counts its own"
    assert not target.exists("counted/latin/U+0042/000.json")
    kinds = [key.startswith("drawings/") for key, _ in target.uploads]
    assert kinds == sorted(kinds), "every record is uploaded before the first drawing"
    for key, tags in target.uploads:
        if key.endswith(".png"):
            assert tags == {"status": "suspicious", "verdict": "ok"}
            assert target.get_tags(key) == tags


def test_push_command_uploads_drawings_and_contributors(aws, tmp_path, capsys):
    for bucket in ("drawings", "contributors"):
        aws.create_bucket(
            Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
        )
    data = tmp_path / "data"
    LocalStorage(data / "drawings").put("drawings/latin/U+0043/c.png", b"png")
    LocalStorage(data / "contributors").put_json("contributors/s.json", {"name": "Ann"})
    command = ("push", "--data", str(data), "--bucket", "drawings")
    assert run_comnist(*command, "--contributors-bucket", "contributors") == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1]) == {
        "copied": 1,
        "skipped": 0,
        "contributors_copied": 1,
    }
    assert run_comnist(*command) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1]) == {
        "copied": 0,
        "skipped": 1,
    }
    assert S3Storage("contributors", aws).get_json("contributors/s.json") == {"name": "Ann"}
