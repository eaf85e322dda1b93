"""Where the scheduled job sends rescore batches: an SQS queue in the cloud, this process locally.

In a cloud stage ``COMNIST_RESCORE_QUEUE`` names the queue, whose messages reach the app's
``rescore_drawings`` function (``on_sqs_message``). Without it (``comnist serve``, tests, the
``comnist`` command on a local store) each batch goes straight to the function that handler
calls, :func:`chalicelib.sanitizing.rescore_batch`: one path for cloud and local.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import Any

from .storage import Storage

Sender = Callable[[list[dict[str, Any]]], None]


def sqs_sender(queue: str, client: Any = None) -> Sender:
    """Send messages (at most ten a call) to the SQS queue named ``queue``; raise if any fails."""
    import boto3

    sqs = client or boto3.client("sqs")
    url = sqs.get_queue_url(QueueName=queue)["QueueUrl"]

    def send(messages: list[dict[str, Any]]) -> None:
        entries = [
            {"Id": str(i), "MessageBody": json.dumps(message, separators=(",", ":"))}
            for i, message in enumerate(messages)
        ]
        failed = sqs.send_message_batch(QueueUrl=url, Entries=entries).get("Failed") or []
        if failed:
            raise RuntimeError(f"SQS refused {len(failed)} rescore batches: {failed[0]}")

    return send


def in_process_sender(store: Storage) -> Sender:
    """Rescore each batch here and now, as the queue's function would."""
    from .sanitizing import rescore_batch

    def send(messages: list[dict[str, Any]]) -> None:
        for message in messages:
            rescore_batch(store, message)

    return send


def rescore_sender(store: Storage) -> Sender:
    """The stage's queue if it has one, else this process."""
    queue = os.environ.get("COMNIST_RESCORE_QUEUE")
    return sqs_sender(queue) if queue else in_process_sender(store)
