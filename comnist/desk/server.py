"""``comnist review --serve``: the review desk, a small WSGI app on 127.0.0.1 served by waitress.

A page on any other site can make the maintainer's browser send requests to localhost, and a
DNS name that rebinds to 127.0.0.1 can even read the answers. So every request must name this
server in its ``Host`` (a rebound name does not), a request that names a foreign ``Origin`` or
comes cross-site (``Sec-Fetch-Site``) is refused, and every API call carries the per-run token
in an ``X-Desk-Token`` header, which no cross-site form or image can set. The token reaches the
browser once, in the address the command prints; the first page keeps it in a ``SameSite=Strict``
cookie (for images) and in a ``<meta>`` element (for the script). Pages have a strict Content
Security Policy: scripts and styles come from this server's files only, nothing inline.
"""

from __future__ import annotations

import hmac
import json
import logging
import re
import secrets
from collections.abc import Callable, Iterable
from http import HTTPStatus
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from jinja2 import Environment, FileSystemLoader, select_autoescape

from chalicelib import sanitizing
from chalicelib.alphabets import find_letter, letter_from_code_point
from chalicelib.keys import parse_drawing_key
from chalicelib.mediatypes import content_type
from chalicelib.storage import NotFound, Storage

from . import queue
from .figures import RefitFigures

log = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"
TOKEN_HEADER = "HTTP_X_DESK_TOKEN"
COOKIE = "comnist_desk"
MAX_BODY = 4096
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}
_DRAWING_PATH = re.compile(r"/drawing/(drawings/[a-z]{2,20}/U\+[0-9A-F]{4,6}/[0-9a-f-]{36}\.png)")

StartResponse = Callable[[str, list[tuple[str, str]]], Any]
Answer = tuple[int, dict[str, str], bytes]


def templates() -> Environment:
    """The desk's and the report's Jinja2 templates, HTML-escaped by default."""
    return Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def json_answer(status: int, value: Any) -> Answer:
    body = json.dumps(value, ensure_ascii=False).encode()
    return status, {"Content-Type": "application/json; charset=utf-8"}, body


def refusal(status: int, message: str) -> Answer:
    return json_answer(status, {"error": message})


class Desk:
    """The desk's WSGI application over one drawings store."""

    def __init__(
        self,
        store: Storage,
        port: int,
        token: str | None = None,
        glance: Callable[[], str] | None = None,
    ) -> None:
        self.store = store
        self.token = token or secrets.token_urlsafe(32)
        self.port = port
        self.glance = glance
        self.figures = RefitFigures(store)
        self.templates = templates()

    # ----- the guards -------------------------------------------------------------------------
    def allowed_hosts(self) -> set[str]:
        return {f"127.0.0.1:{self.port}", f"localhost:{self.port}"}

    def own_origins(self) -> set[str]:
        return {f"http://{host}" for host in self.allowed_hosts()}

    def _guard(self, environ: dict[str, Any]) -> Answer | None:
        """A refusal for a request that did not come from this desk's own pages, else ``None``."""
        if environ.get("HTTP_HOST", "") not in self.allowed_hosts():
            return refusal(421, "this desk answers to 127.0.0.1 and localhost only")
        origin = environ.get("HTTP_ORIGIN")
        if origin is not None and origin not in self.own_origins():
            return refusal(403, "cross-origin requests are refused")
        if environ.get("HTTP_SEC_FETCH_SITE", "same-origin") not in ("same-origin", "none"):
            return refusal(403, "cross-site requests are refused")
        return None

    def _token_ok(self, given: str | None) -> bool:
        return bool(given) and hmac.compare_digest(given.encode(), self.token.encode())

    def _cookie_token(self, environ: dict[str, Any]) -> str | None:
        cookie = SimpleCookie()
        try:
            cookie.load(environ.get("HTTP_COOKIE", ""))
        except Exception:  # a malformed cookie header is no token
            return None
        morsel = cookie.get(COOKIE)
        return morsel.value if morsel else None

    # ----- dispatch ---------------------------------------------------------------------------
    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        method = environ["REQUEST_METHOD"]
        try:
            path = environ.get("PATH_INFO", "").encode("latin-1").decode("utf-8")
        except UnicodeError:
            path = ""
        answer = self._guard(environ) or self.route(environ, method, path)
        status, headers, body = answer
        headers = {**SECURITY_HEADERS, "Cache-Control": "no-store", **headers}
        headers["Content-Length"] = str(len(body))
        start_response(f"{status} {HTTPStatus(status).phrase}", list(headers.items()))
        return [b"" if method == "HEAD" else body]

    def route(self, environ: dict[str, Any], method: str, path: str) -> Answer:
        query = {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
        if method in ("GET", "HEAD"):
            if path == "/":
                return self.front_page(environ, query)
            if path.startswith("/static/"):
                return self.static(path[len("/static/") :])
            if not self._token_ok(environ.get(TOKEN_HEADER) or self._cookie_token(environ)):
                return refusal(403, "the desk's token is missing or wrong")
            if path == "/glance":
                return self.glance_page()
            if match := _DRAWING_PATH.fullmatch(path):
                return self.drawing(match[1])
            if not self._token_ok(environ.get(TOKEN_HEADER)):
                return refusal(403, "the desk's token is missing or wrong")
            if path == "/api/letters":
                return json_answer(200, {"letters": queue.letters_in_queue(self.store)})
            if path == "/api/page":
                return self.page(query)
            if path == "/api/refit":
                return json_answer(200, self.figures.current())
            return refusal(404, "no such page")
        if method == "POST":
            if not self._token_ok(environ.get(TOKEN_HEADER)):
                return refusal(403, "the desk's token is missing or wrong")
            body = self._json_body(environ)
            if isinstance(body, tuple):
                return body
            if path == "/api/verdict":
                return self.verdict(body)
            if path == "/api/undo":
                return self.undo(body)
            return refusal(404, "no such route")
        return refusal(405, "method not allowed")

    @staticmethod
    def _json_body(environ: dict[str, Any]) -> dict[str, Any] | Answer:
        if not environ.get("CONTENT_TYPE", "").startswith("application/json"):
            return refusal(415, "send application/json")
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return refusal(400, "bad Content-Length")
        if not 0 < length <= MAX_BODY:
            return refusal(400, f"a JSON body of at most {MAX_BODY} bytes is needed")
        try:
            body = json.loads(environ["wsgi.input"].read(length))
        except (ValueError, UnicodeDecodeError):
            return refusal(400, "the body is not JSON")
        return body if isinstance(body, dict) else refusal(400, "a JSON object is needed")

    # ----- pages ------------------------------------------------------------------------------
    def front_page(self, environ: dict[str, Any], query: dict[str, str]) -> Answer:
        given = query.get("token")
        if given is not None and not self._token_ok(given):
            given = None
        if given is None and not self._token_ok(self._cookie_token(environ)):
            page = self.templates.get_template("locked.html").render()
            return 403, {"Content-Type": "text/html; charset=utf-8"}, page.encode()
        page = self.templates.get_template("desk.html").render(token=self.token)
        headers = {"Content-Type": "text/html; charset=utf-8"}
        if given is not None:
            headers["Set-Cookie"] = f"{COOKIE}={self.token}; Path=/; HttpOnly; SameSite=Strict"
        return 200, headers, page.encode()

    def static(self, name: str) -> Answer:
        target = (STATIC / name).resolve()
        if not target.is_relative_to(STATIC) or not target.is_file():
            return refusal(404, "no such file")
        return 200, {"Content-Type": content_type(target.name)}, target.read_bytes()

    def glance_page(self) -> Answer:
        if self.glance is None:
            return refusal(404, "the collection report is not available here")
        return 200, {"Content-Type": "text/html; charset=utf-8"}, self.glance().encode()

    def drawing(self, key: str) -> Answer:
        try:
            parse_drawing_key(key)
            data = self.store.get(key).data
        except (ValueError, NotFound):
            return refusal(404, "no such drawing")
        return 200, {"Content-Type": "image/png", "Cache-Control": "private, max-age=3600"}, data

    def page(self, query: dict[str, str]) -> Answer:
        try:
            alphabet = query.get("alphabet", "")
            letter = letter_from_code_point(query.get("code_point", ""))
            find_letter(alphabet, letter)
            cards, cursor = queue.review_page(self.store, alphabet, letter, query.get("after", ""))
        except (KeyError, ValueError) as error:
            return refusal(400, str(error).strip("'\""))
        return json_answer(200, {"cards": [c.as_json() for c in cards], "next": cursor})

    def _drawing_key(self, body: dict[str, Any]) -> str:
        key = body.get("key")
        if not isinstance(key, str):
            raise ValueError("give the drawing's key")
        parse_drawing_key(key)
        return key

    def verdict(self, body: dict[str, Any]) -> Answer:
        try:
            key = self._drawing_key(body)
            tags = sanitizing.mark_drawing(self.store, key, str(body.get("verdict")))
        except ValueError as error:
            return refusal(400, str(error))
        except NotFound:
            return refusal(404, "no such drawing")
        self.figures.verdicts_changed()
        return json_answer(200, {"key": key, "verdict": tags.get("verdict")})

    def undo(self, body: dict[str, Any]) -> Answer:
        try:
            key = self._drawing_key(body)
            tags = sanitizing.unmark_drawing(self.store, key)
        except ValueError as error:
            return refusal(400, str(error))
        except NotFound:
            return refusal(404, "no such drawing")
        self.figures.verdicts_changed()
        return json_answer(200, {"key": key, "verdict": tags.get("verdict")})


def serve(store: Storage, port: int, glance: Callable[[], str] | None = None) -> None:
    """Run the desk on 127.0.0.1 until interrupted; print the address with its token."""
    import waitress

    from comnist.serve import run_until_interrupted

    desk = Desk(store, port, glance=glance)
    server = waitress.create_server(
        desk,
        host="127.0.0.1",
        port=port,
        threads=4,
        clear_untrusted_proxy_headers=True,
        ident="comnist-desk",
    )
    desk.port = server.effective_port
    print(
        f"The review desk of {store.name} is at http://127.0.0.1:{desk.port}/?token={desk.token}",
        flush=True,
    )
    run_until_interrupted(server)
