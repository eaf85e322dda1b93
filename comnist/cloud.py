"""``comnist bootstrap`` (a stage's buckets, site distribution and Chalice config) and ``comnist push``."""

from __future__ import annotations

import argparse
import json
import secrets
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from chalicelib.keys import COUNTED_PREFIX, DRAWINGS_PREFIX
from chalicelib.origin import ORIGIN_HEADER
from chalicelib.storage import ListedObject, LocalStorage, NotFound, S3Storage, Storage

from .grants import API, GRANTS, function_policy, rescore_queue_name
from .progress import Progress
from .security_headers import response_headers_policy_config

CHALICE_DIR = Path(__file__).resolve().parent.parent / "collector" / ".chalice"
SITE_ORIGIN_ID = "site"
# CloudFront's managed cache policy "CachingOptimized": caches by the objects' Cache-Control,
# and lets CloudFront serve gzip and Brotli.
CACHING_OPTIMIZED = "658327ea-f89d-4fab-a63d-7e88639e58f6"
API_ORIGIN_ID = "api"
# Managed policies for the API's route: no caching; every viewer header but Host, and
# CloudFront's own headers (CloudFront-Viewer-Country among them), reach the API.
CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
ALL_VIEWER_EXCEPT_HOST = "b689b0a8-53d0-40ab-baf2-68738e2966ac"
# The API Gateway stage's throttle (requests per second, steady and burst), for every route.
API_RATE = 50
API_BURST = 100
# Concurrent API Lambdas at most, so that a flood leaves the account's other functions (the
# event and scheduled ones) their share of its concurrency.
API_CONCURRENCY = 20
# Days an overwritten or deleted object's old version is kept before it expires.
KEEP_VERSIONS_DAYS = 30
# The session cap's slots are needed for an hour; the bucket removes them after a day.
SLOTS_EXPIRE_DAYS = 1


def bucket_names(stage: str, account: str) -> dict[str, str]:
    """The three buckets of a stage; the account id keeps the names globally unique."""
    return {
        "drawings": f"comnist-{stage}-{account}-drawings",
        "contributors": f"comnist-{stage}-{account}-contributors",
        "site": f"comnist-{stage}-{account}-site",
    }


def write_stage_config(
    stage: str,
    names: dict[str, str],
    site_origin: str,
    chalice_dir: Path = CHALICE_DIR,
    *,
    region: str,
    account: str,
    origin_secret: str | None = None,
    api_concurrency: int = API_CONCURRENCY,
    contact: str | None = None,
) -> None:
    """Record a stage's bucket names, site origin and its functions' policies in ``.chalice/``.

    ``contact``, the maintainer's address that the privacy page shows for erasure requests, is
    kept with the stage (``COMNIST_CONTACT``) for ``build_site.py --stage``.

    Each function gets its own role and policy file, ``policy-<stage>-<function>.json``, written
    from :data:`comnist.grants.GRANTS`. The API function's reserved concurrency and the secret
    only the stage's CloudFront distribution sends (:func:`stage_origin_secret`) go there too.
    """
    config_path = chalice_dir / "config.json"
    config = json.loads(config_path.read_text())
    stage_config = config.setdefault("stages", {}).setdefault(stage, {})
    stage_config.update({"api_gateway_stage": "api", "autogen_policy": False})
    # A function without its own policy file must fail to deploy, not share a broader one.
    stage_config.pop("iam_policy_file", None)
    (chalice_dir / f"policy-{stage}.json").unlink(missing_ok=True)
    stage_config.setdefault("environment_variables", {}).update(
        {
            "COMNIST_DRAWINGS_BUCKET": names["drawings"],
            "COMNIST_CONTRIBUTORS_BUCKET": names["contributors"],
            "COMNIST_SITE_ORIGINS": site_origin,
            "COMNIST_ORIGIN_SECRET": origin_secret or stage_origin_secret(stage, chalice_dir),
            "COMNIST_RESCORE_QUEUE": rescore_queue_name(stage, account),
        }
    )
    if contact:
        stage_config["environment_variables"]["COMNIST_CONTACT"] = contact
    functions = stage_config.setdefault("lambda_functions", {})
    if api_concurrency > 0:
        functions.setdefault(API, {})["reserved_concurrency"] = api_concurrency
    else:  # an account below 100 + N concurrent executions cannot reserve any
        functions.setdefault(API, {}).pop("reserved_concurrency", None)
    for function in GRANTS:
        policy_file = f"policy-{stage}-{function}.json"
        functions.setdefault(function, {})["iam_policy_file"] = policy_file
        policy = function_policy(
            function,
            names,
            region=region,
            account=account,
            app_name=config["app_name"],
            stage=stage,
        )
        (chalice_dir / policy_file).write_text(json.dumps(policy, indent=2) + "\n")
    config_path.write_text(json.dumps(config, indent=2, ensure_ascii=False) + "\n")


def stage_origin_secret(stage: str, chalice_dir: Path = CHALICE_DIR) -> str:
    """The stage's origin secret from its config, or a new random one if it has none yet."""
    try:
        config = json.loads((chalice_dir / "config.json").read_text())
    except FileNotFoundError:
        config = {}
    variables = config.get("stages", {}).get(stage, {}).get("environment_variables", {})
    return variables.get("COMNIST_ORIGIN_SECRET") or secrets.token_urlsafe(32)


def lifecycle_rules(kind: str, keep_versions_days: int) -> list[dict[str, Any]]:
    """A bucket's lifecycle: old versions expire after ``keep_versions_days``; the drawings bucket
    also drops the session cap's slots after a day."""
    rules: list[dict[str, Any]] = [
        {
            "ID": "old-versions-expire",
            "Status": "Enabled",
            "Filter": {"Prefix": ""},
            "NoncurrentVersionExpiration": {"NoncurrentDays": keep_versions_days},
            "Expiration": {"ExpiredObjectDeleteMarker": True},
            "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7},
        }
    ]
    if kind == "drawings":
        rules.append(
            {
                "ID": "session-cap-slots-expire",
                "Status": "Enabled",
                "Filter": {"Prefix": "limits/"},
                "Expiration": {"Days": SLOTS_EXPIRE_DAYS},
                "NoncurrentVersionExpiration": {"NoncurrentDays": SLOTS_EXPIRE_DAYS},
            }
        )
    return rules


def _keep_versions(s3: Any, name: str, kind: str, keep_versions_days: int) -> None:
    """Version the bucket, so that an overwrite or delete can be undone for a while."""
    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_lifecycle_configuration(
        Bucket=name,
        LifecycleConfiguration={"Rules": lifecycle_rules(kind, keep_versions_days)},
    )


@dataclass(frozen=True)
class DoorLimits:
    """What ``comnist bootstrap`` sets at the stage's doors (defaults in docs/security.md)."""

    api_rate: float = API_RATE
    api_burst: int = API_BURST
    api_concurrency: int = API_CONCURRENCY
    keep_versions_days: int = KEEP_VERSIONS_DAYS
    waf_rate_limit: int | None = None


# Buckets whose objects can be restored from their earlier versions.
VERSIONED = ("drawings", "contributors")
# Lambda asks for a queue's visibility timeout to be at least its function's timeout; AWS advises
# six times, so that a batch that failed is retried only after its retries have had their time.
RESCORE_TIMEOUT_SECONDS = 300
# A batch that failed this often is set aside in the dead-letter queue, not retried for ever.
RESCORE_MAX_RECEIVES = 5


def ensure_rescore_queue(sqs: Any, stage: str, account: str) -> str:
    """Create (idempotently) the stage's rescore queue and its dead-letter queue; return its name."""
    name = rescore_queue_name(stage, account)
    dead = sqs.create_queue(QueueName=f"{name}-failed")["QueueUrl"]
    dead_arn = sqs.get_queue_attributes(QueueUrl=dead, AttributeNames=["QueueArn"])
    policy = {
        "deadLetterTargetArn": dead_arn["Attributes"]["QueueArn"],
        "maxReceiveCount": str(RESCORE_MAX_RECEIVES),
    }
    attributes = {
        "VisibilityTimeout": str(6 * RESCORE_TIMEOUT_SECONDS),
        "MessageRetentionPeriod": str(4 * 24 * 3600),
        "RedrivePolicy": json.dumps(policy),
    }
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    sqs.set_queue_attributes(QueueUrl=url, Attributes=attributes)
    return name


def _ensure_bucket(s3: Any, name: str, region: str) -> bool:
    """Create ``name`` unless it exists; return whether it was created."""
    from botocore.exceptions import ClientError

    try:
        s3.head_bucket(Bucket=name)
        return False
    except ClientError as exc:
        if exc.response["Error"]["Code"] not in ("404", "NoSuchBucket", "NotFound"):
            raise
    args: dict[str, Any] = {"Bucket": name}
    if region != "us-east-1":
        args["CreateBucketConfiguration"] = {"LocationConstraint": region}
    s3.create_bucket(**args)
    return True


def _make_private(s3: Any, name: str) -> None:
    """Block every public access and encrypt at rest."""
    s3.put_public_access_block(
        Bucket=name,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
    )
    s3.put_bucket_encryption(
        Bucket=name,
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
        },
    )


def _origin_access_control(cloudfront: Any, name: str) -> str:
    """The id of the origin access control ``name``, created if missing."""
    listing = cloudfront.list_origin_access_controls()["OriginAccessControlList"]
    for item in listing.get("Items") or []:
        if item["Name"] == name:
            return item["Id"]
    created = cloudfront.create_origin_access_control(
        OriginAccessControlConfig={
            "Name": name,
            "Description": "CloudFront signs its requests to the private site bucket",
            "SigningProtocol": "sigv4",
            "SigningBehavior": "always",
            "OriginAccessControlOriginType": "s3",
        }
    )
    return created["OriginAccessControl"]["Id"]


def find_site_distribution(cloudfront: Any, bucket: str) -> dict[str, Any] | None:
    """The CloudFront distribution whose origin is the site bucket ``bucket``, if there is one."""
    for page in cloudfront.get_paginator("list_distributions").paginate():
        for item in page["DistributionList"].get("Items") or []:
            origins = item["Origins"].get("Items") or []
            if any(origin["DomainName"].startswith(f"{bucket}.s3.") for origin in origins):
                return item
    return None


def site_distribution_config(
    stage: str,
    bucket: str,
    region: str,
    access_control: str,
    domain: str | None = None,
    certificate_arn: str | None = None,
) -> dict[str, Any]:
    """The site's CloudFront distribution: HTTPS only, compressed, the private bucket as origin.

    A missing page is the site's 404 page. Only 404 is mapped, since error pages apply to the
    whole distribution: the API's JSON refusals (403 among them) pass through as they are.
    """
    if certificate_arn:
        certificate = {
            "ACMCertificateArn": certificate_arn,
            "SSLSupportMethod": "sni-only",
            "MinimumProtocolVersion": "TLSv1.2_2021",
        }
    else:
        certificate = {"CloudFrontDefaultCertificate": True}
    methods = ["GET", "HEAD"]
    return {
        "CallerReference": f"comnist-{stage}-site",
        "Comment": f"CoMNIST site, stage {stage}",
        "Enabled": True,
        "DefaultRootObject": "index.html",
        "Aliases": {"Quantity": 1, "Items": [domain]} if domain else {"Quantity": 0},
        "Origins": {
            "Quantity": 1,
            "Items": [
                {
                    "Id": SITE_ORIGIN_ID,
                    "DomainName": f"{bucket}.s3.{region}.amazonaws.com",
                    "S3OriginConfig": {"OriginAccessIdentity": ""},
                    "OriginAccessControlId": access_control,
                }
            ],
        },
        "DefaultCacheBehavior": {
            "TargetOriginId": SITE_ORIGIN_ID,
            "ViewerProtocolPolicy": "redirect-to-https",
            "Compress": True,
            "CachePolicyId": CACHING_OPTIMIZED,
            "AllowedMethods": {
                "Quantity": len(methods),
                "Items": methods,
                "CachedMethods": {"Quantity": len(methods), "Items": methods},
            },
        },
        "CustomErrorResponses": {
            "Quantity": 1,
            "Items": [
                {
                    "ErrorCode": 404,
                    "ResponsePagePath": "/404.html",
                    "ResponseCode": "404",
                    "ErrorCachingMinTTL": 60,
                }
            ],
        },
        "ViewerCertificate": certificate,
        "HttpVersion": "http2and3",
        "IsIPV6Enabled": True,
    }


def deployed_rest_api(stage: str, chalice_dir: Path = CHALICE_DIR) -> dict[str, Any] | None:
    """The REST API ``chalice deploy`` recorded for ``stage`` (id, URL), if it has deployed."""
    try:
        deployed = json.loads((chalice_dir / "deployed" / f"{stage}.json").read_text())
    except FileNotFoundError:
        return None
    for resource in deployed.get("resources", []):
        if resource.get("resource_type") == "rest_api":
            return resource
    return None


def deployed_api_domain(stage: str, chalice_dir: Path = CHALICE_DIR) -> str | None:
    """The API Gateway domain ``chalice deploy`` recorded for ``stage``, if it has deployed."""
    rest_api = deployed_rest_api(stage, chalice_dir)
    return urlparse(rest_api["rest_api_url"]).hostname if rest_api else None


def throttle_stage(apigateway: Any, rest_api_id: str, rate: float, burst: int) -> bool:
    """Throttle every route of the API's ``api`` stage; return whether anything changed.

    Chalice deploys the stage without a throttle and cannot set one, so this runs after
    ``chalice deploy``. Beyond ``rate`` requests per second (``burst`` at once), API Gateway
    answers 429 itself, before any Lambda runs.
    """
    stage = apigateway.get_stage(restApiId=rest_api_id, stageName="api")
    settings = stage.get("methodSettings", {}).get("*/*", {})
    wanted = {"throttlingRateLimit": float(rate), "throttlingBurstLimit": int(burst)}
    if all(settings.get(name) == value for name, value in wanted.items()):
        return False
    apigateway.update_stage(
        restApiId=rest_api_id,
        stageName="api",
        patchOperations=[
            {"op": "replace", "path": "/*/*/throttling/rateLimit", "value": str(float(rate))},
            {"op": "replace", "path": "/*/*/throttling/burstLimit", "value": str(int(burst))},
        ],
    )
    return True


def rate_rule_acl(stage: str, limit: int) -> dict[str, Any]:
    """A WAF web ACL that blocks, for a while, any address sending more than ``limit`` API
    requests in five minutes; everything else passes."""

    def visibility(name: str) -> dict[str, Any]:
        return {
            "SampledRequestsEnabled": True,
            "CloudWatchMetricsEnabled": True,
            "MetricName": name,
        }

    name = f"comnist-{stage}-api-rate"
    api_path = {
        "ByteMatchStatement": {
            "SearchString": b"/api/",
            "FieldToMatch": {"UriPath": {}},
            "TextTransformations": [{"Priority": 0, "Type": "NONE"}],
            "PositionalConstraint": "STARTS_WITH",
        }
    }
    return {
        "Name": name,
        "Scope": "CLOUDFRONT",
        "DefaultAction": {"Allow": {}},
        "Description": f"CoMNIST {stage}: at most {limit} API requests per address in 5 minutes",
        "Rules": [
            {
                "Name": "api-requests-per-address",
                "Priority": 0,
                "Statement": {
                    "RateBasedStatement": {
                        "Limit": limit,
                        "AggregateKeyType": "IP",
                        "ScopeDownStatement": api_path,
                    }
                },
                "Action": {"Block": {}},
                "VisibilityConfig": visibility("api-requests-per-address"),
            }
        ],
        "VisibilityConfig": visibility(name),
    }


def _limit_per_address(cloudfront: Any, distribution_id: str, stage: str, limit: int) -> str:
    """Create (or update) the stage's rate-based web ACL and attach it to the distribution."""
    import boto3

    # CloudFront's web ACLs live in us-east-1, whatever the stage's region.
    wafv2 = boto3.client("wafv2", region_name="us-east-1")
    acl = rate_rule_acl(stage, limit)
    found = [
        item
        for item in wafv2.list_web_acls(Scope="CLOUDFRONT").get("WebACLs", [])
        if item["Name"] == acl["Name"]
    ]
    if found:
        current = wafv2.get_web_acl(Name=acl["Name"], Scope="CLOUDFRONT", Id=found[0]["Id"])
        wafv2.update_web_acl(
            Id=found[0]["Id"], LockToken=current["LockToken"], **{**acl, "Name": acl["Name"]}
        )
        arn = found[0]["ARN"]
    else:
        arn = wafv2.create_web_acl(**acl)["Summary"]["ARN"]
    answer = cloudfront.get_distribution_config(Id=distribution_id)
    config = answer["DistributionConfig"]
    if config.get("WebACLId") != arn:
        config["WebACLId"] = arn
        cloudfront.update_distribution(
            Id=distribution_id, IfMatch=answer["ETag"], DistributionConfig=config
        )
    return arn


def api_route(api_domain: str, origin_secret: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The origin and cache behaviour that send the site's ``/api/*`` to the API's ``api`` stage.

    The site then calls its own origin (no CORS preflight), and CloudFront adds the
    ``CloudFront-Viewer-Country`` header the collector records, and the stage's secret without
    which the API answers nothing. Nothing is cached at the edge; the viewer's Host is not
    forwarded, since API Gateway answers only to its own.
    """
    origin = {
        "Id": API_ORIGIN_ID,
        "DomainName": api_domain,
        "CustomHeaders": {
            "Quantity": 1,
            "Items": [{"HeaderName": ORIGIN_HEADER, "HeaderValue": origin_secret}],
        },
        "CustomOriginConfig": {
            "HTTPPort": 80,
            "HTTPSPort": 443,
            "OriginProtocolPolicy": "https-only",
            "OriginSslProtocols": {"Quantity": 1, "Items": ["TLSv1.2"]},
        },
    }
    methods = ["GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE"]
    behaviour = {
        "PathPattern": "/api/*",
        "TargetOriginId": API_ORIGIN_ID,
        "ViewerProtocolPolicy": "https-only",
        "Compress": True,
        "CachePolicyId": CACHING_DISABLED,
        "OriginRequestPolicyId": ALL_VIEWER_EXCEPT_HOST,
        "AllowedMethods": {
            "Quantity": len(methods),
            "Items": methods,
            "CachedMethods": {"Quantity": 2, "Items": ["GET", "HEAD"]},
        },
    }
    return origin, behaviour


def _route_api(cloudfront: Any, distribution_id: str, api_domain: str, origin_secret: str) -> bool:
    """Route the distribution's ``/api/*`` to ``api_domain``; return whether anything changed."""
    answer = cloudfront.get_distribution_config(Id=distribution_id)
    config = answer["DistributionConfig"]
    origin, behaviour = api_route(api_domain, origin_secret)
    origins = config["Origins"].get("Items") or []
    behaviours = config.get("CacheBehaviors", {}).get("Items") or []
    routed = any(b["PathPattern"] == behaviour["PathPattern"] for b in behaviours)
    current = {o["Id"]: o for o in origins}.get(API_ORIGIN_ID, {})
    same_headers = (current.get("CustomHeaders") or {}).get("Items") == origin["CustomHeaders"][
        "Items"
    ]
    if routed and current.get("DomainName") == api_domain and same_headers:
        return False
    other_origins = [o for o in origins if o["Id"] != API_ORIGIN_ID]
    others = [b for b in behaviours if b["PathPattern"] != behaviour["PathPattern"]]
    config["Origins"] = {"Quantity": len(other_origins) + 1, "Items": [*other_origins, origin]}
    config["CacheBehaviors"] = {"Quantity": len(others) + 1, "Items": [*others, behaviour]}
    cloudfront.update_distribution(
        Id=distribution_id, IfMatch=answer["ETag"], DistributionConfig=config
    )
    return True


def _response_headers_policy(cloudfront: Any, stage: str) -> str:
    """The stage's response-headers policy (the browser's defences), created or brought up to
    date; returns its id."""
    name = f"comnist-{stage}-defences"
    wanted = response_headers_policy_config(name)
    listing = cloudfront.list_response_headers_policies(Type="custom")["ResponseHeadersPolicyList"]
    for item in listing.get("Items") or []:
        policy = item["ResponseHeadersPolicy"]
        if policy["ResponseHeadersPolicyConfig"]["Name"] != name:
            continue
        if policy["ResponseHeadersPolicyConfig"] != wanted:
            etag = cloudfront.get_response_headers_policy(Id=policy["Id"])["ETag"]
            cloudfront.update_response_headers_policy(
                Id=policy["Id"], IfMatch=etag, ResponseHeadersPolicyConfig=wanted
            )
            print(f"updated the response headers policy {name}")
        return policy["Id"]
    created = cloudfront.create_response_headers_policy(ResponseHeadersPolicyConfig=wanted)
    print(f"created the response headers policy {name}")
    return created["ResponseHeadersPolicy"]["Id"]


def _attach_response_headers(cloudfront: Any, distribution_id: str, policy_id: str) -> bool:
    """Every behaviour of the distribution (site and API) answers with the policy's headers;
    return whether anything changed."""
    answer = cloudfront.get_distribution_config(Id=distribution_id)
    config = answer["DistributionConfig"]
    behaviours = [
        config["DefaultCacheBehavior"],
        *(config.get("CacheBehaviors", {}).get("Items") or []),
    ]
    if all(b.get("ResponseHeadersPolicyId") == policy_id for b in behaviours):
        return False
    for behaviour in behaviours:
        behaviour["ResponseHeadersPolicyId"] = policy_id
    cloudfront.update_distribution(
        Id=distribution_id, IfMatch=answer["ETag"], DistributionConfig=config
    )
    return True


def _serve_site(
    s3: Any,
    cloudfront: Any,
    stage: str,
    bucket: str,
    region: str,
    domain: str | None,
    certificate_arn: str | None,
    api_domain: str | None,
    origin_secret: str,
) -> dict[str, Any]:
    """Put the private site bucket behind CloudFront (idempotently); return the distribution.

    Once the stage's API is deployed, the distribution also routes ``/api/*`` to it.
    """
    distribution = find_site_distribution(cloudfront, bucket)
    if distribution is None:
        access_control = _origin_access_control(cloudfront, f"comnist-{stage}-site")
        config = site_distribution_config(
            stage, bucket, region, access_control, domain, certificate_arn
        )
        distribution = cloudfront.create_distribution(DistributionConfig=config)["Distribution"]
        print(f"created https://{distribution['DomainName']}")
    else:
        print(f"exists  https://{distribution['DomainName']}")
    if api_domain and _route_api(cloudfront, distribution["Id"], api_domain, origin_secret):
        print(f"routed  https://{distribution['DomainName']}/api/* to {api_domain}")
    headers_policy = _response_headers_policy(cloudfront, stage)
    if _attach_response_headers(cloudfront, distribution["Id"], headers_policy):
        print(f"defended https://{distribution['DomainName']} with CSP, HSTS and the rest")
    # Once a public website bucket (earlier bootstraps): no website, only CloudFront may read it.
    s3.delete_bucket_website(Bucket=bucket)
    # Listing only makes a missing key answer 404 instead of 403; viewers cannot list.
    grants = {"OnlyTheSiteDistributionReads": ("s3:GetObject", f"arn:aws:s3:::{bucket}/*")}
    grants["MissingPagesAre404"] = ("s3:ListBucket", f"arn:aws:s3:::{bucket}")
    statements = [
        {
            "Sid": sid,
            "Effect": "Allow",
            "Principal": {"Service": "cloudfront.amazonaws.com"},
            "Action": action,
            "Resource": resource,
            "Condition": {"StringEquals": {"AWS:SourceArn": distribution["ARN"]}},
        }
        for sid, (action, resource) in grants.items()
    ]
    s3.put_bucket_policy(
        Bucket=bucket, Policy=json.dumps({"Version": "2012-10-17", "Statement": statements})
    )
    return distribution


def bootstrap(
    stage: str,
    region: str,
    chalice_dir: Path = CHALICE_DIR,
    *,
    domain: str | None = None,
    certificate_arn: str | None = None,
    limits: DoorLimits | None = None,
    contact: str | None = None,
) -> dict[str, str]:
    """Create (idempotently) and configure a stage's buckets, site distribution and config.

    Returns the bucket names and, under ``"site_url"``, the site's https URL. Once the stage is
    deployed, it also throttles the API's stage and routes the site's ``/api/*`` to it.
    """
    limits = limits or DoorLimits()
    import boto3

    if domain and not certificate_arn:
        raise ValueError("a site domain needs its ACM certificate (--certificate-arn)")
    account = boto3.client("sts", region_name=region).get_caller_identity()["Account"]
    names = bucket_names(stage, account)
    s3 = boto3.client("s3", region_name=region)
    for kind, name in names.items():
        created = _ensure_bucket(s3, name, region)
        print(f"{'created' if created else 'exists '} s3://{name}")
        _make_private(s3, name)
        if kind in VERSIONED:
            _keep_versions(s3, name, kind, limits.keep_versions_days)
    queue = ensure_rescore_queue(boto3.client("sqs", region_name=region), stage, account)
    print(f"queue: {queue}")
    cloudfront = boto3.client("cloudfront", region_name=region)
    api_domain = deployed_api_domain(stage, chalice_dir)
    secret = stage_origin_secret(stage, chalice_dir)
    distribution = _serve_site(
        s3, cloudfront, stage, names["site"], region, domain, certificate_arn, api_domain, secret
    )
    rest_api = deployed_rest_api(stage, chalice_dir)
    if rest_api:
        apigateway = boto3.client("apigateway", region_name=region)
        if throttle_stage(apigateway, rest_api["rest_api_id"], limits.api_rate, limits.api_burst):
            print(f"throttled the API to {limits.api_rate}/s, bursts of {limits.api_burst}")
    if limits.waf_rate_limit:
        arn = _limit_per_address(cloudfront, distribution["Id"], stage, limits.waf_rate_limit)
        print(f"limited each address to {limits.waf_rate_limit} API requests in 5 min ({arn})")
    site_url = f"https://{domain or distribution['DomainName']}"
    write_stage_config(
        stage,
        names,
        site_url,
        chalice_dir,
        region=region,
        account=account,
        origin_secret=secret,
        api_concurrency=limits.api_concurrency,
        contact=contact,
    )
    print(f"recorded the {stage} stage in {chalice_dir / 'config.json'}")
    print(f"site: {site_url}")
    return {**names, "site_url": site_url}


# Objects each store derives from its own drawings.
STORE_OWN_PREFIXES = (COUNTED_PREFIX, "stats/")


def push(
    source: LocalStorage, target: Storage, prefix: str = "", workers: int = 8
) -> dict[str, int]:
    """Copy the objects of a local store to ``target``, skipping keys it already has.

    Everything else goes before the drawing PNGs, as the collector writes them, so that the
    sanitizer a PNG triggers finds its record; each object carries its tags (a human verdict
    among them) in its own upload, so that no scoring can run before them and overwrite them.
    The counts (``stats/``, ``counted/``) stay behind: the bucket counts each drawing it receives
    once, from the PNG's own event, and a pushed counter would overwrite or hide those counts.
    """
    present = {key for key in source.list_keys(prefix) if not key.startswith(STORE_OWN_PREFIXES)}
    existing = set(target.list_keys(prefix))
    missing = sorted(present - existing)
    records = [key for key in missing if not key.startswith(DRAWINGS_PREFIX)]
    pngs = [key for key in missing if key.startswith(DRAWINGS_PREFIX)]

    def copy(key: str) -> None:
        obj = source.get(key)
        target.put(
            key,
            obj.data,
            content_type=obj.info.content_type,
            metadata=obj.info.metadata,
            tags=source.get_tags(key),
        )

    with Progress(len(missing), f"push to {target.name}", unit="objects") as progress:
        for batch in (records, pngs):
            with ThreadPoolExecutor(workers) as pool:
                for _ in pool.map(copy, batch):
                    progress.advance()
    return {"copied": len(missing), "skipped": len(present & existing)}


# Objects that matter for an hour only: no backup keeps them.
TRANSIENT_PREFIXES = ("limits/",)


def pull(source: Storage, target: LocalStorage, workers: int = 8) -> dict[str, int]:
    """Copy a bucket into a local store, incrementally: new and changed objects, and every tag.

    The listing gives each object's ETag, so an object the local copy already has is not
    downloaded again; the drawings' tags are read each time (a rescore or a verdict changes
    tags, not bytes). Nothing local is deleted: the copy keeps what the bucket lost, and
    ``push`` restores it.
    """
    listed = [item for item in source.list_objects() if not item.key.startswith(TRANSIENT_PREFIXES)]
    counts = {"copied": 0, "unchanged": 0, "retagged": 0}

    def one(item: ListedObject) -> str:
        local = target.head(item.key)
        if local is None or item.etag is None or local.etag != item.etag:
            try:
                obj, tags = source.get(item.key), source.get_tags(item.key)
            except NotFound:  # removed since the listing
                return "unchanged"
            info = obj.info
            target.put(
                item.key,
                obj.data,
                content_type=info.content_type,
                metadata=info.metadata,
                tags=tags,
            )
            return "copied"
        if item.key.startswith(DRAWINGS_PREFIX):
            tags = source.get_tags(item.key)
            if target.get_tags(item.key) != tags:
                target.put_tags(item.key, tags)
                return "retagged"
        return "unchanged"

    with (
        Progress(len(listed), f"pull from {source.name}", unit="objects") as progress,
        ThreadPoolExecutor(workers) as pool,
    ):
        for outcome in pool.map(one, listed):
            counts[outcome] += 1
            progress.advance()
    return counts


def run_pull(args: argparse.Namespace) -> int:
    result = pull(S3Storage(args.bucket), LocalStorage(Path(args.data) / "drawings"))
    if args.contributors_bucket:
        contributors = LocalStorage(Path(args.data) / "contributors")
        result["contributors_copied"] = pull(S3Storage(args.contributors_bucket), contributors)[
            "copied"
        ]
    print(json.dumps(result))
    return 0


def run_bootstrap(args: argparse.Namespace) -> int:
    import boto3

    region = args.region or boto3.session.Session().region_name or "us-east-1"
    bootstrap(
        args.stage,
        region,
        args.chalice_dir,
        domain=args.domain,
        certificate_arn=args.certificate_arn,
        limits=DoorLimits(
            api_rate=args.api_rate,
            api_burst=args.api_burst,
            api_concurrency=args.api_concurrency,
            keep_versions_days=args.keep_versions_days,
            waf_rate_limit=args.waf_rate_limit,
        ),
        contact=args.contact,
    )
    return 0


def run_push(args: argparse.Namespace) -> int:
    source = LocalStorage(Path(args.data) / "drawings")
    result = push(source, S3Storage(args.bucket))
    if args.contributors_bucket:
        contributors = LocalStorage(Path(args.data) / "contributors")
        pushed = push(contributors, S3Storage(args.contributors_bucket))
        result["contributors_copied"] = pushed["copied"]
    print(json.dumps(result))
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("bootstrap", help="create a stage's S3 buckets and record them")
    parser.add_argument("--stage", required=True, help="dev, prod, ...")
    parser.add_argument("--region", default=None, help="AWS region (default: your AWS config's)")
    parser.add_argument(
        "--domain",
        default=None,
        help="the site's own domain name, set when the distribution is created (default: CloudFront's)",
    )
    parser.add_argument(
        "--certificate-arn",
        default=None,
        help="the ACM certificate (in us-east-1) of --domain, for HTTPS on it",
    )
    parser.add_argument(
        "--contact",
        default=None,
        help="the maintainer's e-mail address, shown on the privacy page for erasure requests",
    )
    parser.add_argument(
        "--chalice-dir",
        type=Path,
        default=CHALICE_DIR,
        help="the Chalice project's .chalice folder (default: collector/.chalice)",
    )
    parser.add_argument(
        "--api-rate",
        type=float,
        default=API_RATE,
        help=f"API requests per second the stage answers, all clients together (default {API_RATE})",
    )
    parser.add_argument(
        "--api-burst",
        type=int,
        default=API_BURST,
        help=f"API requests the stage takes at once above the rate (default {API_BURST})",
    )
    parser.add_argument(
        "--api-concurrency",
        type=int,
        default=API_CONCURRENCY,
        help="the API function's reserved concurrency, set at the next deploy; 0 reserves none "
        f"(default {API_CONCURRENCY})",
    )
    parser.add_argument(
        "--keep-versions-days",
        type=int,
        default=KEEP_VERSIONS_DAYS,
        help=f"days an overwritten or deleted object stays restorable (default {KEEP_VERSIONS_DAYS})",
    )
    parser.add_argument(
        "--waf-rate-limit",
        type=int,
        default=None,
        help="also block any address sending more API requests than this in 5 minutes "
        "(an AWS WAF web ACL, about $6 a month; default: none)",
    )
    parser.set_defaults(run=run_bootstrap)

    parser = subparsers.add_parser(
        "push", help="upload a local collection to S3, skipping what is there"
    )
    parser.add_argument("--data", type=Path, default=Path("data"))
    parser.add_argument("--bucket", required=True, help="the drawings bucket")
    parser.add_argument(
        "--contributors-bucket", default=None, help="also push contributor records here"
    )
    parser.set_defaults(run=run_push)

    parser = subparsers.add_parser(
        "pull", help="back a stage's buckets up into a local store, fetching only what changed"
    )
    parser.add_argument("--data", type=Path, default=Path("data"))
    parser.add_argument("--bucket", required=True, help="the drawings bucket")
    parser.add_argument(
        "--contributors-bucket", default=None, help="also back up the contributor records"
    )
    parser.set_defaults(run=run_pull)
