"""moto with S3's atomic requests, for tests and benchmarks that race many clients.

S3 evaluates a conditional write and performs it as one step, and serves a read whole while the
object is being replaced. moto's in-memory S3 does neither when requests come from several
threads: it checks a condition, then writes, and an overwrite closes the buffer that a concurrent
read is copying. So the harness lets moto process one request at a time. Races between requests,
the ones the collector must survive, happen as they would on S3.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

_one_request_at_a_time = threading.RLock()


@contextlib.contextmanager
def atomic_moto_requests() -> Iterator[None]:
    """While active, moto handles each S3 request whole before the next one."""
    from moto.core.botocore_stubber import BotocoreStubber

    original = BotocoreStubber.process_request

    def process_request(self, request):  # type: ignore[no-untyped-def]
        with _one_request_at_a_time:
            return original(self, request)

    BotocoreStubber.process_request = process_request  # type: ignore[method-assign]
    try:
        yield
    finally:
        BotocoreStubber.process_request = original  # type: ignore[method-assign]
