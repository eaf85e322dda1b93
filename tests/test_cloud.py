"""``comnist bootstrap`` and ``comnist push`` against S3 (moto)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import moto  # noqa: F401  (moto before boto3)
import pytest
from botocore.exceptions import ClientError

from chalicelib.storage import LocalStorage, S3Storage
from comnist.cloud import bootstrap, push
from comnist.grants import GRANTS, function_policy, lambda_name, policy_grants

CHALICE_DIR = Path(__file__).resolve().parent.parent / "collector" / ".chalice"


@pytest.fixture
def aws_region() -> str:
    return "eu-west-1"  # outside us-east-1, buckets need a location constraint


def run_comnist(*argv: str) -> int:
    from comnist.cli import main

    return main(list(argv))


def test_bootstrap_creates_private_buckets_and_the_site_distribution_idempotently(
    aws, tmp_path, capsys
):
    real_config = (CHALICE_DIR / "config.json").read_text()
    chalice_dir = tmp_path / ".chalice"
    shutil.copytree(CHALICE_DIR, chalice_dir)
    command = ("bootstrap", "--stage", "staging", "--region", "eu-west-1")
    assert run_comnist(*command, "--chalice-dir", str(chalice_dir)) == 0
    first = capsys.readouterr().out
    first_config = (chalice_dir / "config.json").read_text()
    first_files = sorted(p.name for p in chalice_dir.iterdir())
    assert run_comnist(*command, "--chalice-dir", str(chalice_dir)) == 0
    second = capsys.readouterr().out
    assert first.count("created s3://") == 3 and second.count("exists  s3://") == 3
    assert first.count("created https://") == 1 and second.count("exists  https://") == 1
    assert (chalice_dir / "config.json").read_text() == first_config, "a rerun changes nothing"
    assert sorted(p.name for p in chalice_dir.iterdir()) == first_files
    names = bootstrap("staging", "eu-west-1", chalice_dir)
    assert (CHALICE_DIR / "config.json").read_text() == real_config, "only the copy changes"
    buckets = {b["Name"] for b in aws.list_buckets()["Buckets"]}
    assert buckets == {names["drawings"], names["contributors"], names["site"]}
    for name in buckets:
        assert aws.get_bucket_location(Bucket=name)["LocationConstraint"] == "eu-west-1"
        block = aws.get_public_access_block(Bucket=name)["PublicAccessBlockConfiguration"]
        assert all(block.values()), f"{name} is private"
        rules = aws.get_bucket_encryption(Bucket=name)["ServerSideEncryptionConfiguration"]
        assert rules["Rules"][0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"

    import boto3

    cloudfront = boto3.client("cloudfront", region_name="eu-west-1")
    (distribution,) = cloudfront.list_distributions()["DistributionList"]["Items"]
    assert names["site_url"] == f"https://{distribution['DomainName']}"
    (origin,) = distribution["Origins"]["Items"]
    assert origin["DomainName"] == f"{names['site']}.s3.eu-west-1.amazonaws.com"
    behaviour = distribution["DefaultCacheBehavior"]
    assert behaviour["ViewerProtocolPolicy"] == "redirect-to-https" and behaviour["Compress"]
    (control,) = cloudfront.list_origin_access_controls()["OriginAccessControlList"]["Items"]
    assert (
        control["SigningBehavior"] == "always" and control["OriginAccessControlOriginType"] == "s3"
    )
    readers = json.loads(aws.get_bucket_policy(Bucket=names["site"])["Policy"])["Statement"]
    site_arn = f"arn:aws:s3:::{names['site']}"
    assert {(r["Action"], r["Resource"]) for r in readers} == {
        ("s3:GetObject", f"{site_arn}/*"),
        ("s3:ListBucket", site_arn),
    }
    for reader in readers:
        assert reader["Principal"] == {"Service": "cloudfront.amazonaws.com"}
        assert reader["Condition"] == {"StringEquals": {"AWS:SourceArn": distribution["ARN"]}}
    with pytest.raises(ClientError):
        aws.get_bucket_website(Bucket=names["site"])

    config = json.loads((chalice_dir / "config.json").read_text())
    stage = config["stages"]["staging"]
    assert stage["autogen_policy"] is False and "iam_policy_file" not in stage
    variables = stage["environment_variables"]
    assert variables["COMNIST_DRAWINGS_BUCKET"] == names["drawings"]
    assert variables["COMNIST_CONTRIBUTORS_BUCKET"] == names["contributors"]
    assert variables["COMNIST_SITE_ORIGINS"] == names["site_url"]
    assert "prod" in config["stages"], "other stages are kept"
    account = boto3.client("sts").get_caller_identity()["Account"]
    for function in GRANTS:
        policy = json.loads(
            (chalice_dir / stage["lambda_functions"][function]["iam_policy_file"]).read_text()
        )
        expected = function_policy(
            function,
            names,
            region="eu-west-1",
            account=account,
            app_name="comnist-collector",
            stage="staging",
        )
        assert policy == expected
        grants = policy_grants(policy)
        assert not any(names["site"] in resource for _, resource in grants)
        assert {resource for action, resource in grants if action.startswith("logs:")} == {
            f"arn:aws:logs:eu-west-1:{account}:log-group:/aws/lambda/"
            f"{lambda_name('comnist-collector', 'staging', function)}:*"
        }
    contributors = f"arn:aws:s3:::{names['contributors']}"
    api = policy_grants(json.loads((chalice_dir / "policy-staging-api_handler.json").read_text()))
    assert {(a, r) for a, r in api if r.startswith(contributors)} == {
        ("s3:PutObject", f"{contributors}/contributors/*"),
        ("s3:PutObject", f"{contributors}/created/*"),
    }, "the API only ever puts personal data"
    for function in ("on_new_drawing", "refit_and_rescore"):
        policy = json.loads((chalice_dir / f"policy-staging-{function}.json").read_text())
        assert contributors not in json.dumps(policy)


def test_bootstrap_after_a_deploy_routes_the_sites_api_path_to_the_api(aws, tmp_path, capsys):
    import boto3

    chalice_dir = tmp_path / ".chalice"
    shutil.copytree(CHALICE_DIR, chalice_dir)
    bootstrap("staging", "eu-west-1", chalice_dir)
    assert "routed" not in capsys.readouterr().out, "no API deployed yet"
    api_id = deployed_rest_api(boto3.client("apigateway", region_name="eu-west-1"))
    api_url = f"https://{api_id}.execute-api.eu-west-1.amazonaws.com/api/"
    (chalice_dir / "deployed").mkdir()
    deployed = {"resource_type": "rest_api", "rest_api_url": api_url, "rest_api_id": api_id}
    (chalice_dir / "deployed" / "staging.json").write_text(json.dumps({"resources": [deployed]}))
    names = bootstrap("staging", "eu-west-1", chalice_dir)
    output = capsys.readouterr().out
    assert f"routed  {names['site_url']}/api/* to {api_id}.execute-api" in output
    assert "throttled the API to 50/s, bursts of 100" in output
    bootstrap("staging", "eu-west-1", chalice_dir)
    output = capsys.readouterr().out
    assert "routed" not in output and "throttled" not in output, "a rerun changes nothing"

    cloudfront = boto3.client("cloudfront", region_name="eu-west-1")
    (summary,) = cloudfront.list_distributions()["DistributionList"]["Items"]
    config = cloudfront.get_distribution_config(Id=summary["Id"])["DistributionConfig"]
    origins = {o["Id"]: o["DomainName"] for o in config["Origins"]["Items"]}
    assert origins["api"] == f"{api_id}.execute-api.eu-west-1.amazonaws.com"
    (route,) = config["CacheBehaviors"]["Items"]
    assert (route["PathPattern"], route["TargetOriginId"]) == ("/api/*", "api")
    assert route["ViewerProtocolPolicy"] == "https-only", "a redirected POST loses its body"


def deployed_rest_api(apigateway) -> str:
    """A REST API with an ``api`` stage, as ``chalice deploy`` leaves one; returns its id."""
    api_id = apigateway.create_rest_api(name="comnist-collector")["id"]
    root = apigateway.get_resources(restApiId=api_id)["items"][0]["id"]
    apigateway.put_method(
        restApiId=api_id, resourceId=root, httpMethod="GET", authorizationType="NONE"
    )
    apigateway.put_integration(restApiId=api_id, resourceId=root, httpMethod="GET", type="MOCK")
    apigateway.create_deployment(restApiId=api_id, stageName="api")
    return api_id


def test_a_custom_domain_needs_its_certificate(aws, tmp_path):
    chalice_dir = tmp_path / ".chalice"
    shutil.copytree(CHALICE_DIR, chalice_dir)
    with pytest.raises(ValueError, match="certificate"):
        bootstrap("staging", "eu-west-1", chalice_dir, domain="draw.example.org")
    certificate = "arn:aws:acm:us-east-1:123456789012:certificate/abc"
    names = bootstrap(
        "staging", "eu-west-1", chalice_dir, domain="draw.example.org", certificate_arn=certificate
    )
    assert names["site_url"] == "https://draw.example.org"
    import boto3

    cloudfront = boto3.client("cloudfront", region_name="eu-west-1")
    (summary,) = cloudfront.list_distributions()["DistributionList"]["Items"]
    config = cloudfront.get_distribution_config(Id=summary["Id"])["DistributionConfig"]
    assert config["Aliases"]["Items"] == ["draw.example.org"]
    assert config["ViewerCertificate"]["ACMCertificateArn"] == certificate


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


def documented_grants() -> set[tuple[str, str, str]]:
    """``(function, action, resource)`` of each row of docs/deploying.md's permissions table."""
    page = (Path(__file__).resolve().parent.parent / "docs" / "deploying.md").read_text()
    section = page.split("## Permissions of each function", 1)[1].split("\n#", 1)[0]
    rows = set()
    for line in section.splitlines():
        cells = [cell.strip().strip("`") for cell in line.strip().strip("|").split("|")]
        if len(cells) < 3 or cells[0] in ("function", "---"):
            continue
        for action in cells[1].split(","):
            rows.add((cells[0], action.strip().strip("`"), cells[2]))
    return rows


def test_the_documented_table_is_the_grants_table():
    tabled = {(f, action, resource) for f, grants in GRANTS.items() for action, resource in grants}
    assert documented_grants() == tabled


def test_bootstrap_gives_every_route_the_browser_defences_once(aws, tmp_path, capsys):
    import boto3

    from comnist.security_headers import security_headers

    chalice_dir = tmp_path / ".chalice"
    shutil.copytree(CHALICE_DIR, chalice_dir)
    bootstrap("staging", "eu-west-1", chalice_dir)
    first = capsys.readouterr().out
    assert "created the response headers policy comnist-staging-defences" in first
    assert "defended https://" in first
    api_id = deployed_rest_api(boto3.client("apigateway", region_name="eu-west-1"))
    api_url = f"https://{api_id}.execute-api.eu-west-1.amazonaws.com/api/"
    (chalice_dir / "deployed").mkdir()
    deployed = {"resource_type": "rest_api", "rest_api_url": api_url, "rest_api_id": api_id}
    (chalice_dir / "deployed" / "staging.json").write_text(json.dumps({"resources": [deployed]}))
    bootstrap("staging", "eu-west-1", chalice_dir)
    assert "defended https://" in capsys.readouterr().out, "the new API route too"
    bootstrap("staging", "eu-west-1", chalice_dir)
    rerun = capsys.readouterr().out
    assert "defended" not in rerun and "response headers policy" not in rerun, "nothing to change"

    cloudfront = boto3.client("cloudfront", region_name="eu-west-1")
    (summary,) = cloudfront.list_distributions()["DistributionList"]["Items"]
    config = cloudfront.get_distribution_config(Id=summary["Id"])["DistributionConfig"]
    behaviours = [config["DefaultCacheBehavior"], *config["CacheBehaviors"]["Items"]]
    (policy_id,) = {b["ResponseHeadersPolicyId"] for b in behaviours}
    policy = cloudfront.get_response_headers_policy(Id=policy_id)["ResponseHeadersPolicy"]
    security = policy["ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"]
    served = security_headers(https=True)
    assert (
        security["ContentSecurityPolicy"]["ContentSecurityPolicy"]
        == (served["Content-Security-Policy"])
    )
    assert security["StrictTransportSecurity"]["AccessControlMaxAgeSec"] >= 31536000
    assert (
        security["ContentTypeOptions"]["Override"]
        and security["FrameOptions"]["FrameOption"] == "DENY"
    )
    assert security["ReferrerPolicy"]["ReferrerPolicy"] == served["Referrer-Policy"]
    (custom,) = policy["ResponseHeadersPolicyConfig"]["CustomHeadersConfig"]["Items"]
    assert (custom["Header"], custom["Value"]) == (
        "Permissions-Policy",
        served["Permissions-Policy"],
    )
