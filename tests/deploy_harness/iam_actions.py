"""The emulator's IAM check names some S3 requests by their API operation; AWS by their IAM action.

moto 5.2 in server mode authorises a HEAD of an object as ``s3:HeadObject`` and a listing as
``s3:ListObjectsV2``; neither is an IAM action. AWS checks ``s3:GetObject`` and ``s3:ListBucket``
for them, which is what the functions' policies grant; nor is ``sqs:SendMessageBatch``, which
AWS checks as ``sqs:SendMessage``. It also authorises ``sqs:GetQueueUrl``
against ``*`` (it looks for the queue in a ``QueueUrl`` the request does not have), where AWS
checks the queue's ARN, which is what the policies grant. This mends both inside the emulator
(the rehearsal's own process) only; what a deploy sends to AWS is untouched.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

AWS_ACTIONS = {
    "s3:HeadObject": "s3:GetObject",
    "s3:ListObjectsV2": "s3:ListBucket",
    "s3:ListObjects": "s3:ListBucket",
    # IAM has no batch actions for SQS: a batch needs the action of one message.
    "sqs:SendMessageBatch": "sqs:SendMessage",
    "sqs:DeleteMessageBatch": "sqs:DeleteMessage",
}


@contextlib.contextmanager
def iam_action_names_as_aws() -> Iterator[None]:
    from moto.iam.access_control import IAMRequest, S3IAMRequest
    from moto.sqs.responses import SQSResponse

    original = S3IAMRequest.__init__
    original_other = IAMRequest.__init__
    queue_name = SQSResponse._get_queue_name

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        self._action = AWS_ACTIONS.get(self._action, self._action)

    def init_other(self: Any, *args: Any, **kwargs: Any) -> None:
        original_other(self, *args, **kwargs)
        self._action = AWS_ACTIONS.get(self._action, self._action)

    def named_queue(self: Any) -> str:
        return self._get_param("QueueName") or queue_name(self)

    S3IAMRequest.__init__ = init  # type: ignore[method-assign]
    IAMRequest.__init__ = init_other  # type: ignore[method-assign]
    SQSResponse._get_queue_name = named_queue  # type: ignore[method-assign]
    try:
        yield
    finally:
        S3IAMRequest.__init__ = original  # type: ignore[method-assign]
        IAMRequest.__init__ = original_other  # type: ignore[method-assign]
        SQSResponse._get_queue_name = queue_name  # type: ignore[method-assign]
