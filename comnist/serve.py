"""``comnist serve``: the whole system in one process, on local storage.

The built site is served at ``/`` and the collector's routes under ``/api/``, through Chalice's
own ``LocalGateway`` in front of the same app object that runs on Lambda. Several copies of the
app answer requests concurrently, because a Chalice app object holds the current request.
"""

from __future__ import annotations

import argparse
import base64
import logging
import queue
import socket
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit

from chalice.config import Config
from chalice.local import LocalGateway, LocalGatewayException

from chalicelib.mediatypes import content_type
from chalicelib.validation import MAX_BODY_BYTES

from .local import load_app, local_system

log = logging.getLogger(__name__)

API_PREFIX = "/api"
DEFAULT_SITE = Path("build/site")
APP_COPIES = 4
DRAIN_LIMIT = 64 * 1024 * 1024


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


def make_handler(site_dir: Path, pool: GatewayPool) -> type[BaseHTTPRequestHandler]:
    site_root = site_dir.resolve()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "comnist"
        sys_version = ""

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            log.info("%s %s", self.address_string(), format % args)

        def _send(self, status: int, headers: dict[str, str], body: bytes) -> None:
            self.send_response(status)
            for name, value in headers.items():
                if name.lower() not in ("content-length", "connection"):
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def _api(self, path: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length > 4 * MAX_BODY_BYTES:
                # Read and drop the body (within reason) so that the client sees the answer.
                remaining = min(length, DRAIN_LIMIT)
                while remaining > 0:
                    chunk = self.rfile.read(min(remaining, 65536))
                    if not chunk:
                        break
                    remaining -= len(chunk)
                self.close_connection = True
                body = b'{"error": "request body is larger than %d bytes"}' % MAX_BODY_BYTES
                self._send(413, {"Content-Type": "application/json"}, body)
                return
            data = self.rfile.read(length) if length else None
            headers = {name.lower(): value for name, value in self.headers.items()}
            try:
                response = pool.handle(self.command, path, headers, data)
            except LocalGatewayException as error:
                self._send(error.CODE, dict(error.headers), error.body or b"")
                return
            body = response.get("body") or b""
            if response.get("isBase64Encoded"):
                body = base64.b64decode(body)
            elif isinstance(body, str):
                body = body.encode()
            headers = dict(response.get("headers") or {})
            for name, values in (response.get("multiValueHeaders") or {}).items():
                headers[name] = ", ".join(values)
            self._send(response["statusCode"], headers, body)

        def _static(self, path: str) -> None:
            target = (site_root / path.lstrip("/")).resolve()
            if not target.is_relative_to(site_root):
                self._send(404, {"Content-Type": "text/plain"}, b"not found")
                return
            if target.is_dir():
                if not path.endswith("/"):
                    self._send(301, {"Location": path + "/"}, b"")
                    return
                target = target / "index.html"
            if not target.is_file():
                fallback = site_root / "404.html"
                body = fallback.read_bytes() if fallback.is_file() else b"not found"
                self._send(404, {"Content-Type": "text/html; charset=utf-8"}, body)
                return
            self._send(
                200,
                {"Content-Type": content_type(target.name), "Cache-Control": "no-cache"},
                target.read_bytes(),
            )

        def _dispatch(self) -> None:
            url = urlsplit(self.path)
            if url.path == API_PREFIX or url.path.startswith(API_PREFIX + "/"):
                api_path = url.path[len(API_PREFIX) :] or "/"
                self._api(api_path + (f"?{url.query}" if url.query else ""))
            elif self.command in ("GET", "HEAD"):
                self._static(url.path)
            else:
                self._send(
                    405, {"Content-Type": "text/plain", "Allow": "GET, HEAD"}, b"method not allowed"
                )

        do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = do_OPTIONS = do_PATCH = _dispatch

    return Handler


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
    if not (site_dir / "index.html").is_file():
        print(
            f"warning: no built site in {site_dir}; run `python build_site.py` first",
            file=sys.stderr,
        )
    with local_system(data_dir) as (_, _, _, app_module):
        pool = GatewayPool(app_module)
        server = ThreadingHTTPServer((host, port), make_handler(site_dir, pool))
        server.daemon_threads = True
        port = server.server_address[1]
        print(f"CoMNIST is running on http://127.0.0.1:{port}/ (data in {data_dir.resolve()})")
        if host in ("0.0.0.0", ""):
            print(f"devices on this network can draw at http://{lan_address()}:{port}/")
        print("Ctrl-C stops it", flush=True)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()


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
