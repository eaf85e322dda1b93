"""CloudFront's response-headers policies, which moto 5.2 does not implement, for the tests.

moto answers ``CreateResponseHeadersPolicy`` and its siblings with "not implemented", although
it keeps a ``ResponseHeadersPolicyId`` on a distribution's behaviours. While :func:`emulated` is
active, those four calls of any CloudFront client are answered here instead, after botocore has
validated their parameters against the service model exactly as for AWS; nothing else changes.
The policies live in memory, or in the JSON file named by ``COMNIST_HARNESS_POLICIES`` so that
the deploy rehearsal's processes and the test that reads them back share them.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from botocore.client import BaseClient
from botocore.exceptions import ClientError
from botocore.validate import validate_parameters

STORE_VARIABLE = "COMNIST_HARNESS_POLICIES"
_memory: dict[str, Any] = {}
_lock = threading.Lock()


def _load() -> dict[str, Any]:
    path = os.environ.get(STORE_VARIABLE)
    if not path:
        return _memory
    return json.loads(Path(path).read_text()) if Path(path).exists() else {}


def _save(policies: dict[str, Any]) -> None:
    path = os.environ.get(STORE_VARIABLE)
    if path:
        Path(path).write_text(json.dumps(policies))


def _policy(policy_id: str, stored: dict[str, Any]) -> dict[str, Any]:
    return {
        "Id": policy_id,
        "LastModifiedTime": datetime.fromisoformat(stored["modified"]),
        "ResponseHeadersPolicyConfig": stored["config"],
    }


def _missing(operation: str) -> ClientError:
    error = {"Code": "NoSuchResponseHeadersPolicy", "Message": "no such policy"}
    return ClientError({"Error": error, "ResponseMetadata": {"HTTPStatusCode": 404}}, operation)


def answer(operation: str, params: dict[str, Any]) -> dict[str, Any]:
    """CloudFront's answer to one response-headers-policy call, from the store."""
    with _lock:
        policies = _load()
        if operation == "ListResponseHeadersPolicies":
            items = [
                {"Type": "custom", "ResponseHeadersPolicy": _policy(pid, stored)}
                for pid, stored in policies.items()
                if params.get("Type", "custom") == "custom"
            ]
            return {
                "ResponseHeadersPolicyList": {
                    "MaxItems": 100,
                    "Quantity": len(items),
                    "Items": items,
                }
            }
        if operation == "CreateResponseHeadersPolicy":
            config = params["ResponseHeadersPolicyConfig"]
            if any(p["config"]["Name"] == config["Name"] for p in policies.values()):
                error = {"Code": "ResponseHeadersPolicyAlreadyExists", "Message": config["Name"]}
                raise ClientError({"Error": error}, operation)
            policy_id = str(uuid.uuid4())
            policies[policy_id] = {"config": config, "etag": uuid.uuid4().hex}
        else:
            policy_id = params["Id"]
            if policy_id not in policies:
                raise _missing(operation)
            if operation == "UpdateResponseHeadersPolicy":
                if params.get("IfMatch") != policies[policy_id]["etag"]:
                    error = {"Code": "PreconditionFailed", "Message": "stale ETag"}
                    raise ClientError({"Error": error}, operation)
                policies[policy_id] = {
                    "config": params["ResponseHeadersPolicyConfig"],
                    "etag": uuid.uuid4().hex,
                }
        stored = policies[policy_id]
        stored.setdefault("modified", datetime.now(UTC).isoformat())
        _save(policies)
        return {"ResponseHeadersPolicy": _policy(policy_id, stored), "ETag": stored["etag"]}


OPERATIONS = {
    "ListResponseHeadersPolicies",
    "CreateResponseHeadersPolicy",
    "GetResponseHeadersPolicy",
    "UpdateResponseHeadersPolicy",
}


def _patched(original: Any) -> Any:
    def _make_api_call(self: BaseClient, operation_name: str, api_params: dict[str, Any]) -> Any:
        if self.meta.service_model.service_name != "cloudfront" or operation_name not in OPERATIONS:
            return original(self, operation_name, api_params)
        model = self.meta.service_model.operation_model(operation_name)
        validate_parameters(api_params, model.input_shape)
        return answer(operation_name, api_params)

    return _make_api_call


def install() -> None:
    """Answer the policy calls from the store in this process from now on."""
    BaseClient._make_api_call = _patched(BaseClient._make_api_call)  # type: ignore[method-assign]


@contextlib.contextmanager
def emulated(store: Path | None = None) -> Iterator[None]:
    """While active, the policy calls are answered from ``store`` (a JSON file) or memory."""
    original = BaseClient._make_api_call
    BaseClient._make_api_call = _patched(original)  # type: ignore[method-assign]
    previous = os.environ.pop(STORE_VARIABLE, None)
    if store is not None:
        os.environ[STORE_VARIABLE] = str(store)
    _memory.clear()
    try:
        yield
    finally:
        BaseClient._make_api_call = original  # type: ignore[method-assign]
        os.environ.pop(STORE_VARIABLE, None)
        if previous is not None:
            os.environ[STORE_VARIABLE] = previous
