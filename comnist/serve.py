"""``comnist serve``: the whole system in one process, on local storage.

The built site is served at ``/`` and the collector's routes under ``/api/``, through Chalice's
own ``LocalGateway`` in front of the same app object that runs on Lambda. HTTP itself is
waitress's, a maintained pure-Python WSGI server: it parses requests strictly (a malformed or
negative ``Content-Length`` is a 400), decodes chunked bodies, refuses bodies over a limit
before reading them, and listens with a deep backlog, so a crowd of phones is queued rather than
reset. Several copies of the app answer requests concurrently, because a Chalice app object holds
the current request.
"""

from __future__ import annotations

import argparse
import base64
import json
import logging
import queue
import socket
import sys
import threading
from collections.abc import Callable, Iterable
from http import HTTPStatus
from pathlib import Path
from types import ModuleType
from typing import Any

from chalice.config import Config
from chalice.local import LocalGateway, LocalGatewayException

from chalicelib.mediatypes import content_type
from chalicelib.storage import LocalStorage, StorageError
from chalicelib.sweep import sweep_local
from chalicelib.validation import MAX_BODY_BYTES

from .local import load_app, local_system
from .security_headers import security_headers

log = logging.getLogger(__name__)

API_PREFIX = "/api"
DEFAULT_SITE = Path("build/site")
APP_COPIES = 4
# Bodies up to this size reach the app, which refuses those over MAX_BODY_BYTES with its own
# JSON answer; waitress refuses larger ones itself, without reading them.
MAX_REQUEST_BYTES = 4 * MAX_BODY_BYTES
MAX_PATH_SEGMENT = 255  # a file name's limit on Linux and macOS
LISTEN_BACKLOG = 1024
SWEEP_EVERY_SECONDS = 3600
CONNECTION_LIMIT = 1000
# The same defences as the CloudFront distribution's, without HSTS: this server speaks plain http.
DEFENCES = security_headers(https=False)
NO_SUCH_ROUTE = (
    "no such route: the API has POST /api/drawings, POST /api/contributors and GET /api/stats"
)

StartResponse = Callable[[str, list[tuple[str, str]]], Any]


class GatewayPool:
    """A fixed set of ``LocalGateway`` objects, each in front of its own copy of the app."""

    def __init__(self, first_app: ModuleType, copies: int = APP_COPIES) -> None:
        self.gateways: queue.Queue[LocalGateway] = queue.Queue()
        chalice_config = Config.create(app_name="comnist-collector", lambda_timeout=60)
        for i in range(copies):
            module = first_app if i == 0 else load_app()
            self.gateways.put(LocalGateway(module.app, chalice_config))

    def handle(
        self, method: str, path: str, headers: dict[str, str], body: bytes | None
    ) -> dict[str, Any]:
        gateway = self.gateways.get()
        try:
            return gateway.handle_request(method=method, path=path, headers=headers, body=body)
        finally:
            self.gateways.put(gateway)


class Answer:
    """A status, headers and body, ready for WSGI."""

    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status, self.headers, self.body = status, headers, body

    @classmethod
    def error(cls, status: int, message: str) -> Answer:
        """A refusal in the API's form, ``{"error": message}``."""
        body = json.dumps({"error": message}, ensure_ascii=False).encode()
        return cls(status, {"Content-Type": "application/json; charset=utf-8"}, body)

    def send(self, method: str, start_response: StartResponse) -> Iterable[bytes]:
        headers = [
            (name, value)
            for name, value in self.headers.items()
            if name.lower() not in ("content-length", "connection", "transfer-encoding")
        ]
        headers.append(("Content-Length", str(len(self.body))))
        try:
            reason = HTTPStatus(self.status).phrase
        except ValueError:
            reason = "Unknown"
        start_response(f"{self.status} {reason}", headers)
        return [b"" if method == "HEAD" else self.body]


def request_path(environ: dict[str, Any]) -> str | Answer:
    """The request's decoded path, or the refusal of a path no file or route can have."""
    try:
        # WSGI hands the percent-decoded path over as latin-1; the bytes are UTF-8.
        path = environ.get("PATH_INFO", "").encode("latin-1").decode("utf-8")
    except UnicodeError:
        return Answer.error(400, "the path is not valid UTF-8")
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in path):
        return Answer.error(400, "the path contains control characters")
    if any(len(segment.encode()) > MAX_PATH_SEGMENT for segment in path.split("/")):
        return Answer.error(414, f"a path segment is longer than {MAX_PATH_SEGMENT} bytes")
    return path


def request_headers(environ: dict[str, Any]) -> dict[str, str]:
    """The request's headers with lower-case names, as API Gateway passes them to Lambda."""
    headers = {
        name[5:].replace("_", "-").lower(): value
        for name, value in environ.items()
        if name.startswith("HTTP_")
    }
    for name in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        if environ.get(name):
            headers[name.replace("_", "-").lower()] = environ[name]
    return headers


class LocalSystem:
    """The WSGI application of ``comnist serve``: the built site, and the API under ``/api/``."""

    def __init__(self, site_dir: Path, pool: GatewayPool) -> None:
        self.site_root = site_dir.resolve()
        self.pool = pool

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        method = environ["REQUEST_METHOD"]
        path = request_path(environ)
        if isinstance(path, Answer):
            answer = path
        elif path == API_PREFIX or path.startswith(API_PREFIX + "/"):
            answer = self.api(environ, method, path[len(API_PREFIX) :] or "/")
        elif method in ("GET", "HEAD"):
            answer = self.static(path)
        else:
            answer = Answer(
                405, {"Content-Type": "text/plain", "Allow": "GET, HEAD"}, b"method not allowed"
            )
        answer.headers.update(DEFENCES)
        return answer.send(method, start_response)

    def api(self, environ: dict[str, Any], method: str, path: str) -> Answer:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        if length > MAX_BODY_BYTES:
            return Answer.error(413, f"request body is larger than {MAX_BODY_BYTES} bytes")
        body = environ["wsgi.input"].read(length) if length else None
        query = environ.get("QUERY_STRING")
        target = path + (f"?{query}" if query else "")
        try:
            response = self.pool.handle(method, target, request_headers(environ), body)
        except LocalGatewayException as error:
            # API Gateway's own refusals (a route the app does not have), in the API's form.
            return Answer.error(error.CODE, NO_SUCH_ROUTE)
        data = response.get("body") or b""
        if response.get("isBase64Encoded"):
            data = base64.b64decode(data)
        elif isinstance(data, str):
            data = data.encode()
        headers = dict(response.get("headers") or {})
        for name, values in (response.get("multiValueHeaders") or {}).items():
            headers[name] = ", ".join(values)
        return Answer(response["statusCode"], headers, data)

    def static(self, path: str) -> Answer:
        try:
            return self._file(path)
        except OSError:  # a path the file system cannot even look up (too long, too deep)
            return Answer(404, {"Content-Type": "text/plain"}, b"not found")

    def _file(self, path: str) -> Answer:
        target = (self.site_root / path.lstrip("/")).resolve()
        if not target.is_relative_to(self.site_root):
            return Answer(404, {"Content-Type": "text/plain"}, b"not found")
        if target.is_dir():
            if not path.endswith("/"):
                return Answer(301, {"Location": path + "/"}, b"")
            target = target / "index.html"
        if not target.is_file():
            fallback = self.site_root / "404.html"
            body = fallback.read_bytes() if fallback.is_file() else b"not found"
            return Answer(404, {"Content-Type": "text/html; charset=utf-8"}, body)
        return Answer(
            200,
            {"Content-Type": content_type(target.name), "Cache-Control": "no-cache"},
            target.read_bytes(),
        )


class Sweeper:
    """Runs the orphan sweep on the local store at start and then every ``interval`` seconds."""

    def __init__(self, store: LocalStorage, interval: float = SWEEP_EVERY_SECONDS) -> None:
        self.store, self.interval = store, interval
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, name="sweep", daemon=True)

    def __enter__(self) -> Sweeper:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stopped.set()
        self.thread.join(timeout=10)

    def _run(self) -> None:
        while not self.stopped.is_set():
            try:
                removed = sweep_local(self.store)
                if any(removed.values()):
                    log.warning("swept %s", json.dumps(removed))
            except StorageError:  # a full or read-only disk: the next round tries again
                log.exception("the sweep failed")
            self.stopped.wait(self.interval)


def lan_address() -> str:
    """This machine's address as other devices on its network would use it (best effort)."""
    try:
        infos = socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET)
    except OSError:
        infos = []
    for info in infos:
        address = str(info[4][0])
        if not address.startswith("127."):
            return address
    return "<this machine's LAN address>"


def serve(host: str, port: int, data_dir: Path, site_dir: Path) -> None:
    """Run the local system until interrupted."""
    import waitress

    if not (site_dir / "index.html").is_file():
        print(
            f"warning: no built site in {site_dir}; run `python build_site.py` first",
            file=sys.stderr,
        )
    # A burst queues requests for the four app copies; that is the design, not a warning.
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    with local_system(data_dir) as (drawings, _, _, app_module), Sweeper(drawings):
        server = waitress.create_server(
            LocalSystem(site_dir, GatewayPool(app_module)),
            host=host,
            port=port,
            threads=APP_COPIES,
            backlog=LISTEN_BACKLOG,
            connection_limit=CONNECTION_LIMIT,
            max_request_body_size=MAX_REQUEST_BYTES,
            asyncore_use_poll=True,
            clear_untrusted_proxy_headers=True,
            ident="comnist",
        )
        port = server.effective_port
        print(f"CoMNIST is running on http://127.0.0.1:{port}/ (data in {data_dir.resolve()})")
        if host in ("0.0.0.0", ""):
            print(f"devices on this network can draw at http://{lan_address()}:{port}/")
        run_until_interrupted(server)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("serve", help="run the site and the API locally")
    parser.add_argument("--host", default="127.0.0.1", help="0.0.0.0 lets devices on the LAN draw")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument(
        "--data", type=Path, default=Path("data"), help="local store (default ./data)"
    )
    parser.add_argument(
        "--site", type=Path, default=DEFAULT_SITE, help="built site (default build/site)"
    )
    parser.set_defaults(run=lambda args: serve(args.host, args.port, args.data, args.site))


def run_until_interrupted(server: Any) -> None:
    """Serve with a waitress ``server`` until Ctrl-C, then close it."""
    print("Ctrl-C stops it", flush=True)
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
