"""Loaded by each Python the deploy rehearsal starts: mends what moto 5.2 reads unlike AWS.

Only the requests that reach the emulator are changed, in the rehearsal's own processes; what
``chalice deploy`` sends to real AWS is untouched. Each hook names the moto limitation it works
around.
"""

from __future__ import annotations

import json
from typing import Any

import botocore.session
import cloudfront_policies


def lower_case_filter_rule_names(params: dict[str, Any], **_: Any) -> None:
    """moto's bucket-notification parser accepts only ``prefix``/``suffix``; AWS (and Chalice)
    also write ``Prefix``/``Suffix``."""
    for configurations in params.get("NotificationConfiguration", {}).values():
        for configuration in configurations if isinstance(configurations, list) else []:
            for rule in configuration.get("Filter", {}).get("Key", {}).get("FilterRules", []):
                rule["Name"] = rule["Name"].lower()


def openapi3_with_description(params: dict[str, Any], **_: Any) -> None:
    """moto's REST API import validates the body as OpenAPI 3 and wants ``info.description``;
    API Gateway also imports the Swagger 2.0 that Chalice generates, without a description."""
    document = json.loads(params["body"])
    document.pop("swagger", None)
    document["openapi"] = "3.0.1"
    info = document.setdefault("info", {})
    info.setdefault("description", info.get("title", "api"))
    params["body"] = json.dumps(document).encode()


HOOKS = {
    "provide-client-params.s3.PutBucketNotificationConfiguration": lower_case_filter_rule_names,
    "provide-client-params.apigateway.ImportRestApi": openapi3_with_description,
    "provide-client-params.apigateway.PutRestApi": openapi3_with_description,
}

_original_init = botocore.session.Session.__init__


def _init_with_hooks(self: botocore.session.Session, *args: Any, **kwargs: Any) -> None:
    _original_init(self, *args, **kwargs)
    for event, hook in HOOKS.items():
        self.register(event, hook)


botocore.session.Session.__init__ = _init_with_hooks

# moto has no response-headers policies: cloudfront_policies answers those calls.
cloudfront_policies.install()
