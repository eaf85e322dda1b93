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


def test_bootstrap_creates_private_and_public_buckets_idempotently(aws, tmp_path, capsys):
    chalice_dir = tmp_path / ".chalice"
    shutil.copytree(CHALICE_DIR, chalice_dir)
    names = bootstrap("staging", "eu-west-1", chalice_dir=chalice_dir)
    again = bootstrap("staging", "eu-west-1", chalice_dir=chalice_dir)
    assert names == again
    assert "exists" in capsys.readouterr().out
    buckets = {b["Name"] for b in aws.list_buckets()["Buckets"]}
    assert set(names.values()) == buckets

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
    contributor_actions = next(
        s["Action"] for s in iam["Statement"] if s["Sid"] == "ContributorRecords"
    )
    assert sorted(contributor_actions) == ["s3:GetObject", "s3:PutObject"], (
        "no listing of personal data"
    )


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
    assert target.head("drawings/latin/U+0041/a.png").content_type == "image/png"
    local.put("drawings/latin/U+0041/b.png", b"png2", content_type="image/png")
    assert push(local, target) == {"copied": 1, "skipped": 2}
    assert sorted(target.list_keys()) == sorted(local.list_keys())
