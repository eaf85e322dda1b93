"""What ``comnist bootstrap`` sets at a stage's doors, against moto: versions kept, the API reached
only through CloudFront, its concurrency reserved, and an optional per-address WAF limit."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import moto  # noqa: F401  (moto before boto3)
import pytest

from comnist.cloud import DoorLimits, bootstrap, lifecycle_rules

CHALICE_DIR = Path(__file__).resolve().parent.parent / "collector" / ".chalice"
REGION = "eu-west-1"


@pytest.fixture
def aws_region() -> str:
    return REGION


@pytest.fixture
def chalice_dir(tmp_path) -> Path:
    target = tmp_path / ".chalice"
    shutil.copytree(CHALICE_DIR, target)
    return target


def distribution_config(cloudfront) -> dict:
    (summary,) = cloudfront.list_distributions()["DistributionList"]["Items"]
    return cloudfront.get_distribution_config(Id=summary["Id"])["DistributionConfig"]


def test_both_data_buckets_keep_versions_for_a_set_number_of_days(aws, chalice_dir):
    names = bootstrap("staging", REGION, chalice_dir, limits=DoorLimits(keep_versions_days=45))
    for kind in ("drawings", "contributors"):
        bucket = names[kind]
        assert aws.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
        rules = aws.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
        old = next(rule for rule in rules if rule["ID"] == "old-versions-expire")
        assert old["Status"] == "Enabled"
        assert old["NoncurrentVersionExpiration"]["NoncurrentDays"] == 45
    rules = aws.get_bucket_lifecycle_configuration(Bucket=names["drawings"])["Rules"]
    slots = next(rule for rule in rules if rule["ID"] == "session-cap-slots-expire")
    assert slots["Filter"]["Prefix"] == "limits/" and slots["Expiration"]["Days"] == 1
    assert "Status" not in aws.get_bucket_versioning(Bucket=names["site"]), "the site is rebuilt"
    assert [r["ID"] for r in lifecycle_rules("contributors", 30)] == ["old-versions-expire"]


def test_a_deleted_drawing_comes_back_from_its_earlier_version(aws, chalice_dir):
    names = bootstrap("staging", REGION, chalice_dir)
    bucket, key = names["drawings"], "drawings/latin/U+0041/a.png"
    aws.put_object(Bucket=bucket, Key=key, Body=b"png")
    aws.delete_object(Bucket=bucket, Key=key)
    versions = aws.list_object_versions(Bucket=bucket, Prefix=key)
    (marker,) = versions["DeleteMarkers"]
    aws.delete_object(Bucket=bucket, Key=key, VersionId=marker["VersionId"])  # the restore
    assert aws.get_object(Bucket=bucket, Key=key)["Body"].read() == b"png"


def test_the_stage_secret_is_kept_in_its_config_and_sent_only_by_cloudfront(
    aws, chalice_dir, capsys
):
    import boto3
    from test_cloud import deployed_rest_api

    bootstrap("staging", REGION, chalice_dir)
    stage = json.loads((chalice_dir / "config.json").read_text())["stages"]["staging"]
    secret = stage["environment_variables"]["COMNIST_ORIGIN_SECRET"]
    assert len(secret) >= 40
    assert stage["lambda_functions"]["api_handler"]["reserved_concurrency"] == 20
    bootstrap("staging", REGION, chalice_dir, limits=DoorLimits(api_concurrency=0))
    unreserved = json.loads((chalice_dir / "config.json").read_text())["stages"]["staging"]
    assert "reserved_concurrency" not in unreserved["lambda_functions"]["api_handler"]
    other = json.loads((chalice_dir / "config.json").read_text())["stages"]["prod"]
    assert other["environment_variables"].get("COMNIST_ORIGIN_SECRET") != secret

    api_id = deployed_rest_api(boto3.client("apigateway", region_name=REGION))
    api_url = f"https://{api_id}.execute-api.{REGION}.amazonaws.com/api/"
    (chalice_dir / "deployed").mkdir()
    deployed = {"resource_type": "rest_api", "rest_api_url": api_url, "rest_api_id": api_id}
    (chalice_dir / "deployed" / "staging.json").write_text(json.dumps({"resources": [deployed]}))
    bootstrap("staging", REGION, chalice_dir, limits=DoorLimits(api_rate=7, api_burst=9))
    assert "throttled the API to 7/s, bursts of 9" in capsys.readouterr().out
    again = json.loads((chalice_dir / "config.json").read_text())["stages"]["staging"]
    assert again["environment_variables"]["COMNIST_ORIGIN_SECRET"] == secret, "kept on reruns"

    cloudfront = boto3.client("cloudfront", region_name=REGION)
    origins = {o["Id"]: o for o in distribution_config(cloudfront)["Origins"]["Items"]}
    assert origins["api"]["CustomHeaders"]["Items"] == [
        {"HeaderName": "X-Comnist-Origin", "HeaderValue": secret}
    ]
    assert origins["site"]["CustomHeaders"]["Quantity"] == 0, "the secret goes to the API only"
    settings = boto3.client("apigateway", region_name=REGION).get_stage(
        restApiId=api_id, stageName="api"
    )["methodSettings"]["*/*"]
    assert (settings["throttlingRateLimit"], settings["throttlingBurstLimit"]) == (7.0, 9)


def test_a_rate_based_waf_rule_on_request(aws, chalice_dir, capsys):
    import boto3

    bootstrap("staging", REGION, chalice_dir)
    assert "limited each address" not in capsys.readouterr().out, "no WAF unless asked"
    bootstrap("staging", REGION, chalice_dir, limits=DoorLimits(waf_rate_limit=300))
    assert "limited each address to 300 API requests in 5 min" in capsys.readouterr().out
    bootstrap("staging", REGION, chalice_dir, limits=DoorLimits(waf_rate_limit=500))

    wafv2 = boto3.client("wafv2", region_name="us-east-1")
    (summary,) = wafv2.list_web_acls(Scope="CLOUDFRONT")["WebACLs"]
    acl = wafv2.get_web_acl(Name=summary["Name"], Scope="CLOUDFRONT", Id=summary["Id"])["WebACL"]
    (rule,) = acl["Rules"]
    statement = rule["Statement"]["RateBasedStatement"]
    assert statement["Limit"] == 500 and statement["AggregateKeyType"] == "IP"
    assert "Block" in rule["Action"]
    cloudfront = boto3.client("cloudfront", region_name=REGION)
    assert distribution_config(cloudfront)["WebACLId"] == summary["ARN"]
