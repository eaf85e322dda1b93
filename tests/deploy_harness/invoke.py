"""Run one handler of an unpacked Lambda deployment package as the Lambda runtime would.

    python -S invoke.py HANDLER TIMEOUT < event.json

HANDLER and TIMEOUT (seconds) are the function's configuration; the function's name comes from
``AWS_LAMBDA_FUNCTION_NAME`` as on Lambda.

The package's directory comes first on ``PYTHONPATH``; the handler's result is printed as JSON.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import time
import uuid


class LambdaContext:
    """The parts of Lambda's context object that the collector and Chalice read."""

    def __init__(self, timeout_s: int) -> None:
        self.function_name = os.environ["AWS_LAMBDA_FUNCTION_NAME"]
        self.aws_request_id = str(uuid.uuid4())
        self.memory_limit_in_mb = "512"
        self._deadline = time.monotonic() + timeout_s

    def get_remaining_time_in_millis(self) -> int:
        return int((self._deadline - time.monotonic()) * 1000)


def main() -> None:
    module_name, _, attribute = sys.argv[1].rpartition(".")
    handler = getattr(importlib.import_module(module_name), attribute)
    event = json.load(sys.stdin)
    result = handler(event, LambdaContext(int(sys.argv[2])))
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
