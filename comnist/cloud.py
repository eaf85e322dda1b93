"""``comnist bootstrap`` (create a stage's buckets, record them in Chalice's config) and ``comnist push``."""

from __future__ import annotations

import argparse
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from chalicelib.keys import COUNTED_PREFIX, DRAWINGS_PREFIX
from chalicelib.storage import LocalStorage, S3Storage, Storage

from .progress import Progress

CHALICE_DIR = Path(__file__).resolve().parent.parent / "collector" / ".chalice"


def bucket_names(stage: str, account: str) -> dict[str, str]:
    """The three buckets of a stage; the account id keeps the names globally unique."""
    return {
        "drawings": f"comnist-{stage}-{account}-drawings",
        "contributors": f"comnist-{stage}-{account}-contributors",
        "site": f"comnist-{stage}-{account}-site",
    }


def stage_policy(drawings_bucket: str, contributors_bucket: str) -> dict[str, Any]:
    """The least-privilege IAM policy of the collector's Lambda functions.

    Drawings: read, write, delete (only to undo a half-written drawing), tag and list.
    Contributors: write and read back one record at a time; never delete. Listing is allowed
    under ``contributors/`` only because without it S3 answers a missing record with 403
    instead of 404, and every first record of a session would fail as "storage unavailable".
    """
    drawings = f"arn:aws:s3:::{drawings_bucket}"
    contributors = f"arn:aws:s3:::{contributors_bucket}"
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "Logs",
                "Effect": "Allow",
                "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": "arn:aws:logs:*:*:*",
            },
            {
                "Sid": "DrawingObjects",
                "Effect": "Allow",
                "Action": [
                    "s3:GetObject",
                    "s3:PutObject",
                    "s3:DeleteObject",
                    "s3:GetObjectTagging",
                    "s3:PutObjectTagging",
                ],
                "Resource": f"{drawings}/*",
            },
            {
                "Sid": "DrawingListing",
                "Effect": "Allow",
                "Action": ["s3:ListBucket"],
                "Resource": drawings,
            },
            {
                "Sid": "ContributorRecords",
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:PutObject"],
                "Resource": f"{contributors}/contributors/*",
            },
            {
                "Sid": "ContributorMissingIs404",
                "Effect": "Allow",
                "Action": ["s3:ListBucket"],
                "Resource": contributors,
                "Condition": {"StringLike": {"s3:prefix": ["contributors/*"]}},
            },
        ],
    }


def write_stage_config(
    stage: str, names: dict[str, str], site_origin: str, chalice_dir: Path = CHALICE_DIR
) -> None:
    """Record a stage's bucket names, site origin and policy in ``.chalice/``."""
    config_path = chalice_dir / "config.json"
    config = json.loads(config_path.read_text())
    stage_config = config.setdefault("stages", {}).setdefault(stage, {})
    stage_config.update(
        {
            "api_gateway_stage": "api",
            "autogen_policy": False,
            "iam_policy_file": f"policy-{stage}.json",
        }
    )
    stage_config.setdefault("environment_variables", {}).update(
        {
            "COMNIST_DRAWINGS_BUCKET": names["drawings"],
            "COMNIST_CONTRIBUTORS_BUCKET": names["contributors"],
            "COMNIST_SITE_ORIGINS": site_origin,
        }
    )
    config_path.write_text(json.dumps(config, indent=2, ensure_ascii=False) + "\n")
    policy = stage_policy(names["drawings"], names["contributors"])
    (chalice_dir / f"policy-{stage}.json").write_text(json.dumps(policy, indent=2) + "\n")


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


def _block_public_access(s3: Any, name: str, *, allow_public_policy: bool) -> None:
    """Block public ACLs always; a bucket policy may make the website bucket publicly readable."""
    s3.put_public_access_block(
        Bucket=name,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": not allow_public_policy,
            "RestrictPublicBuckets": not allow_public_policy,
        },
    )


def _make_private(s3: Any, name: str) -> None:
    _block_public_access(s3, name, allow_public_policy=False)
    s3.put_bucket_encryption(
        Bucket=name,
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
        },
    )


def _make_website(s3: Any, name: str) -> None:
    _block_public_access(s3, name, allow_public_policy=True)
    s3.put_bucket_website(
        Bucket=name,
        WebsiteConfiguration={
            "IndexDocument": {"Suffix": "index.html"},
            "ErrorDocument": {"Key": "404.html"},
        },
    )
    s3.put_bucket_policy(
        Bucket=name,
        Policy=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "PublicReadOfTheSite",
                        "Effect": "Allow",
                        "Principal": "*",
                        "Action": "s3:GetObject",
                        "Resource": f"arn:aws:s3:::{name}/*",
                    }
                ],
            }
        ),
    )


def bootstrap(
    stage: str, region: str, site_origin: str | None = None, chalice_dir: Path = CHALICE_DIR
) -> dict[str, str]:
    """Create (idempotently) and configure a stage's buckets and record them; return their names."""
    import boto3

    account = boto3.client("sts", region_name=region).get_caller_identity()["Account"]
    names = bucket_names(stage, account)
    s3 = boto3.client("s3", region_name=region)
    for name in names.values():
        created = _ensure_bucket(s3, name, region)
        print(f"{'created' if created else 'exists '} s3://{name}")
    _make_private(s3, names["drawings"])
    _make_private(s3, names["contributors"])
    _make_website(s3, names["site"])
    origin = site_origin or f"http://{names['site']}.s3-website-{region}.amazonaws.com"
    write_stage_config(stage, names, origin, chalice_dir)
    print(f"recorded the {stage} stage in {chalice_dir / 'config.json'}")
    return names


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

    with Progress(len(missing), f"push to {target.name}") as progress:
        for batch in (records, pngs):
            with ThreadPoolExecutor(workers) as pool:
                for _ in pool.map(copy, batch):
                    progress.advance()
    return {"copied": len(missing), "skipped": len(present & existing)}


def run_bootstrap(args: argparse.Namespace) -> int:
    import boto3

    region = args.region or boto3.session.Session().region_name or "us-east-1"
    bootstrap(args.stage, region, args.site_origin, args.chalice_dir)
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
        "--site-origin", default=None, help="the site's public origin, if not the bucket website"
    )
    parser.add_argument(
        "--chalice-dir",
        type=Path,
        default=CHALICE_DIR,
        help="the Chalice project's .chalice folder (default: collector/.chalice)",
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
