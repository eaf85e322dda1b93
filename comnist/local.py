"""The local embedded run: the collector's Chalice app on local stores, with S3-shaped events.

:class:`EventingStorage` is a :class:`LocalStorage` that, like an S3 bucket notification filtered
on ``drawings/*.png``, announces each created drawing; :class:`EventPump` delivers those events in
order on a background thread to the app's own ``on_new_drawing`` handler, so local and cloud runs
share one event path.
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import queue
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import quote_plus

from chalicelib import config
from chalicelib.keys import DRAWING_SUFFIX, DRAWINGS_PREFIX, parse_drawing_key
from chalicelib.stats import counted_ids
from chalicelib.storage import LocalStorage, Storage

log = logging.getLogger(__name__)

APP_PATH = Path(__file__).resolve().parent.parent / "collector" / "app.py"
LOCAL_BUCKET = "comnist-local-drawings"


def s3_object_created_event(bucket: str, key: str, size: int, etag: str) -> dict[str, Any]:
    """The Lambda event S3 sends when ``key`` is created in ``bucket``."""
    return {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": "local",
                "eventName": "ObjectCreated:Put",
                "s3": {
                    "s3SchemaVersion": "1.0",
                    "bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}"},
                    "object": {"key": quote_plus(key), "size": size, "eTag": etag.strip('"')},
                },
            }
        ]
    }


def is_drawing_png(key: str) -> bool:
    """Whether ``key`` passes the S3 notification filter of the event handler."""
    return key.startswith(DRAWINGS_PREFIX) and key.endswith(DRAWING_SUFFIX)


class EventingStorage(LocalStorage):
    """A local bucket that reports created drawing PNGs to ``on_created`` as S3 events."""

    def __init__(self, root: str | Path, on_created: Callable[[dict[str, Any]], None]) -> None:
        super().__init__(root)
        self.on_created = on_created

    def put(self, key: str, data: bytes, **kwargs: Any) -> str:
        etag = super().put(key, data, **kwargs)
        if is_drawing_png(key):
            self.on_created(s3_object_created_event(LOCAL_BUCKET, key, len(data), etag))
        return etag


def load_app(module_name: str | None = None) -> ModuleType:
    """Import ``collector/app.py`` as a fresh module (each copy has its own Chalice app object)."""
    name = module_name or f"comnist_collector_app_{uuid.uuid4().hex}"
    spec = importlib.util.spec_from_file_location(name, APP_PATH)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load the collector app from {APP_PATH}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class LambdaContext:
    """The little of Lambda's context object that handlers may read."""

    function_name = "comnist-collector-local"
    memory_limit_in_mb = 1024
    aws_request_id = "local"

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


class EventPump:
    """Delivers S3-shaped events, one at a time and in order, to an event handler."""

    def __init__(self, handler: Callable[[dict[str, Any], Any], Any]) -> None:
        self.handler = handler
        self.events: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self.thread = threading.Thread(target=self._run, name="s3-events", daemon=True)
        self.thread.start()

    def deliver(self, event: dict[str, Any]) -> None:
        self.events.put(event)

    def _run(self) -> None:
        while (event := self.events.get()) is not None:
            try:
                self.handler(event, LambdaContext())
            except Exception:  # the pump must outlive a bad event, as Lambda does
                log.exception("the event handler failed")
            finally:
                self.events.task_done()

    def drain(self) -> None:
        """Wait until every delivered event has been handled."""
        self.events.join()

    def close(self) -> None:
        self.drain()
        self.events.put(None)
        self.thread.join(timeout=10)


def redeliver_unfinished(store: LocalStorage, pump: EventPump) -> int:
    """Queue an event for every drawing PNG not yet tagged or not yet counted; return how many.

    Events live in memory, so a server stopped with a backlog, or in the middle of an event,
    leaves drawings untagged or uncounted; they are picked up again at the next start.
    """
    counted = counted_ids(store)
    count = 0
    for key in store.list_keys(DRAWINGS_PREFIX):
        try:
            drawing_id = parse_drawing_key(key).id
        except ValueError:
            continue
        if drawing_id not in counted or "status" not in store.get_tags(key):
            info = store.head(key)
            if info is not None:
                pump.deliver(s3_object_created_event(LOCAL_BUCKET, key, info.size, info.etag))
                count += 1
    return count


@contextlib.contextmanager
def local_system(data_dir: str | Path) -> Iterator[tuple[Storage, Storage, EventPump, ModuleType]]:
    """Install local stores under ``data_dir`` for the collector and run its event pump.

    Yields ``(drawings, contributors, pump, app_module)``. Every drawing PNG written to the
    drawings store, by the API or by a command such as ``comnist import``, reaches the app's
    ``on_new_drawing`` handler.
    """
    data_dir = Path(data_dir)
    app_module = load_app()
    pump = EventPump(app_module.on_new_drawing)
    drawings = EventingStorage(data_dir / "drawings", pump.deliver)
    contributors = LocalStorage(data_dir / "contributors")
    config.use_stores(drawings, contributors)
    redeliver_unfinished(drawings, pump)
    try:
        yield drawings, contributors, pump, app_module
    finally:
        pump.close()
