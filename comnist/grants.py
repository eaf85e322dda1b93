"""What each deployed Lambda function may do: one table, the source of every IAM policy.

``comnist bootstrap`` writes each function's policy file from :data:`GRANTS`, and a test checks
the table in docs/deploying.md against it. A resource names a bucket by its role, ``<drawings>`` or
``<contributors>``, followed by the keys a grant covers (no key: the bucket itself, for
``s3:ListBucket``); ``<log group>`` is the function's own CloudWatch log group, ``<rescore
queue>`` the stage's SQS queue of rescore batches. Storing a new kind
of object is one new row here.
"""

from __future__ import annotations

import re
from typing import Any

API = "api_handler"
EVENT = "on_new_drawing"
REFIT = "refit_and_rescore"
SWEEP = "sweep_orphans"
RESCORE = "rescore_drawings"

Grant = tuple[str, str]

LOGS: tuple[Grant, ...] = (
    ("logs:CreateLogGroup", "<log group>"),
    ("logs:CreateLogStream", "<log group>"),
    ("logs:PutLogEvents", "<log group>"),
)
# Without s3:ListBucket, S3 answers a read of a missing object with 403 instead of 404, and a
# missing claim, counter or tag set would read as "storage unavailable".
MISSING_IS_404: Grant = ("s3:ListBucket", "<drawings>")

# What the event function and the scheduled refit both do: score and tag drawings, count them once.
SCORES_AND_COUNTS: tuple[Grant, ...] = (
    ("s3:GetObject", "<drawings>/drawings/*"),
    ("s3:GetObjectTagging", "<drawings>/drawings/*"),
    ("s3:PutObjectTagging", "<drawings>/drawings/*"),
    ("s3:GetObject", "<drawings>/strokes/*"),
    ("s3:GetObject", "<drawings>/verdicts/*"),
    ("s3:GetObject", "<drawings>/models/*"),
    ("s3:GetObject", "<drawings>/stats/*"),
    ("s3:PutObject", "<drawings>/stats/*"),
    ("s3:GetObject", "<drawings>/counted/*"),
    ("s3:PutObject", "<drawings>/counted/*"),
    # The review queue: a marker per flagged drawing, moved when its score changes.
    ("s3:PutObject", "<drawings>/flagged/*"),
    ("s3:DeleteObject", "<drawings>/flagged/*"),
)

GRANTS: dict[str, tuple[Grant, ...]] = {
    # POST /drawings, POST /contributors, GET /stats: never a contributor's record read back,
    # never a delete (a failed upload's leftovers are the sweep's).
    API: (
        ("s3:PutObject", "<drawings>/requests/*"),
        ("s3:GetObject", "<drawings>/requests/*"),
        ("s3:PutObject", "<drawings>/limits/*"),
        ("s3:GetObject", "<drawings>/limits/*"),
        ("s3:PutObject", "<drawings>/strokes/*"),
        ("s3:PutObject", "<drawings>/drawings/*"),
        ("s3:GetObject", "<drawings>/drawings/*"),
        ("s3:GetObject", "<drawings>/stats/*"),
        MISSING_IS_404,
        ("s3:PutObject", "<contributors>/contributors/*"),
        ("s3:PutObject", "<contributors>/created/*"),
        *LOGS,
    ),
    # Scores and tags each new PNG, counts it once.
    EVENT: (*SCORES_AND_COUNTS, MISSING_IS_404, *LOGS),
    # Counts drawings left uncounted, refits the models, sends the rescore out in batches.
    REFIT: (
        *SCORES_AND_COUNTS,
        ("s3:PutObject", "<drawings>/models/*"),
        MISSING_IS_404,
        ("sqs:GetQueueUrl", "<rescore queue>"),
        ("sqs:SendMessage", "<rescore queue>"),
        *LOGS,
    ),
    # Re-tags one batch of drawings from the queue (Lambda's poller uses the role to receive).
    RESCORE: (
        *SCORES_AND_COUNTS,
        MISSING_IS_404,
        ("sqs:ReceiveMessage", "<rescore queue>"),
        ("sqs:DeleteMessage", "<rescore queue>"),
        ("sqs:GetQueueAttributes", "<rescore queue>"),
        *LOGS,
    ),
    # Removes the claims and records that abandoned uploads left without a PNG; never a PNG.
    SWEEP: (
        ("s3:GetObject", "<drawings>/requests/*"),
        ("s3:DeleteObject", "<drawings>/requests/*"),
        ("s3:DeleteObject", "<drawings>/strokes/*"),
        ("s3:GetObject", "<drawings>/drawings/*"),
        MISSING_IS_404,
        *LOGS,
    ),
}


def lambda_name(app_name: str, stage: str, function: str) -> str:
    """The Lambda function's name as Chalice gives it: the API handler is named after the app."""
    return f"{app_name}-{stage}" if function == API else f"{app_name}-{stage}-{function}"


def rescore_queue_name(stage: str, account: str) -> str:
    """The stage's SQS queue of rescore batches (named like its buckets)."""
    return f"comnist-{stage}-{account}-rescore"


def resource_arn(
    resource: str, buckets: dict[str, str], log_group_arn: str, queue_arn: str = ""
) -> str:
    """The ARN of a table resource: ``<drawings>/stats/*`` -> ``arn:aws:s3:::BUCKET/stats/*``."""
    if resource == "<log group>":
        return log_group_arn
    if resource == "<rescore queue>" and queue_arn:
        return queue_arn
    match = re.fullmatch(r"<(\w+)>(/.*)?", resource)
    if not match or match[1] not in buckets:
        raise ValueError(f"unknown resource {resource!r}")
    return f"arn:aws:s3:::{buckets[match[1]]}{match[2] or ''}"


def statement_id(resource: str) -> str:
    """A statement id from a table resource: ``<drawings>/stats/*`` -> ``DrawingsStats``."""
    return "".join(word.capitalize() for word in re.findall(r"[A-Za-z0-9]+", resource))


def function_policy(
    function: str,
    buckets: dict[str, str],
    *,
    region: str,
    account: str,
    app_name: str,
    stage: str,
) -> dict[str, Any]:
    """The IAM policy of one function: one statement per resource, its actions from :data:`GRANTS`."""
    name = lambda_name(app_name, stage, function)
    log_group = f"arn:aws:logs:{region}:{account}:log-group:/aws/lambda/{name}:*"
    queue = f"arn:aws:sqs:{region}:{account}:{rescore_queue_name(stage, account)}"
    actions: dict[str, set[str]] = {}
    for action, resource in GRANTS[function]:
        actions.setdefault(resource, set()).add(action)
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": statement_id(resource),
                "Effect": "Allow",
                "Action": sorted(actions[resource]),
                "Resource": resource_arn(resource, buckets, log_group, queue),
            }
            for resource in actions
        ],
    }


def policy_grants(policy: dict[str, Any]) -> set[tuple[str, str]]:
    """Every ``(action, resource ARN)`` pair a policy allows (checks read policies back with this)."""
    grants = set()
    for statement in policy["Statement"]:
        actions = statement["Action"]
        resources = statement["Resource"]
        for action in [actions] if isinstance(actions, str) else actions:
            for resource in [resources] if isinstance(resources, str) else resources:
                grants.add((action, resource))
    return grants
