"""A stand-in for the hosted Sony Ci service, on loopback, for tests.

It is not Sony Ci: it speaks the few endpoints Chowda uses with the JSON shapes of the real API, as the
public sources record them (``WGBH-MLA/sonyci`` at 8c0c11f80536, ``WGBH-MLA/chowda`` at 52d448e549c2) --

* ``POST /oauth2/token``: HTTP Basic (username, password) and the form ``grant_type=password&client_id=
  ...&client_secret=...`` (``WGBH-MLA/sonyci`` ``sonyci/utils.py`` ``get_token``); it answers
  ``{"access_token", "expires_in", "token_type": "bearer", "refresh_token"}``
  (``tests/vhs/tests.test_sonyci/test_token.yaml``), and a wrong client id or secret 401
  ``{"error": "invalid_client", "error_description": "Invalid client id and client secret combination."}``
  (``tests/vhs/test_cli_login/test_bad_login.yaml``).
* ``GET /workspaces/<id>/contents?kind=asset&limit=&offset=&fields=``, as ``WGBH-MLA/chowda``
  ``chowda/flows/ingest.py`` asks it: ``{"limit", "offset", "count", "kind", "type", "order", "items": [...]}``
  with asset items ``{"id", "name", "size", "thumbnails": [...], "type", "format", "kind": "Asset", ...}``
  (``WGBH-MLA/sonyci`` ``tests/vhs/tests.test_sonyci/test_workspace_contents.yaml``).
* ``GET /assets/<id>/download``: ``{"location", "id", "size", "proxies", "thumbnails"}``
  (``tests/vhs/tests.test_sonyci/test_asset_download.yaml``). The real location is a CloudFront link that
  expires three hours later; here it is ``<server>/signed/<id>?Expires=...&Signature=...&Key-Pair-Id=...``
  (CloudFront's canned-policy form), and ``/signed/<id>`` serves the asset's bytes while the signature
  matches and the link has not expired (403 otherwise; Range requests get a 206).

Invented, because no recording shows them: the answer to a wrong username or password (400
``invalid_grant``, as OAuth 2 says) and the bodies of the API's errors (``{"code", "message"}``).

Usage::

    with SonyCiStandIn() as ci:
        ci.add_assets(250)
        account = SonyCiAccount(**ci.credentials)
        ci.fail_page(100, 500)          # the next request for offset 100 answers 500, once
        ci.hits["/oauth2/token"]         # requests per path
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import mimetypes
import secrets
import sys
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, quote, urlsplit

TOKEN_PATH = "/oauth2/token"


@dataclass
class StandInAsset:
    """One asset of the stand-in's workspace, with the bytes ``/signed/<id>`` serves."""

    asset_id: str
    name: str
    type: str = "Video"
    format: str = "mp4"
    data: bytes = b""
    size: int | None = None
    extra: dict = field(default_factory=dict)

    def as_item(self, base_url: str, fields: list[str] | None) -> dict:
        """The asset as a contents page lists it; with ``fields``, only those (and ``kind``)."""
        item = {
            "id": self.asset_id,
            "name": self.name,
            "size": len(self.data) if self.size is None else self.size,
            "createdOn": "2021-07-15T18:48:11.058Z",
            "thumbnails": self.thumbnails(base_url),
            "type": self.type,
            "format": self.format,
            "status": "Complete",
            "isTrashed": False,
            "kind": "Asset",
            **self.extra,
        }
        if fields:
            item = {key: value for key, value in item.items() if key in fields or key == "kind"}
        return item

    def thumbnails(self, base_url: str) -> list[dict]:
        if self.type not in ("Video", "Image", "Document"):
            return []
        return [
            {
                "type": kind,
                "location": f"{base_url}/thumbnails/{self.asset_id}/{kind}.jpg",
                "size": 1009,
                "width": width,
                "height": height,
                "isExternal": False,
            }
            for kind, width, height in (("small", 193, 250), ("medium", 433, 560), ("large", 612, 792))
        ]


class SonyCiStandIn:
    """Sony Ci's token, workspace contents and download endpoints on 127.0.0.1, with knobs for tests."""

    def __init__(
        self,
        *,
        username: str = "curator@example.org",
        password: str = "standin-password-7f3a",
        client_id: str = "standin-client-id",
        client_secret: str = "standin-client-secret-91c2",
        workspace_id: str = "f44132c2393d470c88b9884f45877ebb",
        max_limit: int = 100,
        token_lifetime: int = 86400,
        link_lifetime: int = 10800,
    ):
        self.username, self.password = username, password
        self.client_id, self.client_secret = client_id, client_secret
        self.workspace_id = workspace_id
        self.max_limit = max_limit
        self.token_lifetime = token_lifetime
        self.link_lifetime = link_lifetime
        self.ignore_offset = False  # True: every contents request gets the first page, as a broken proxy might
        self.assets: list[StandInAsset] = []
        self.hits: Counter[str] = Counter()
        self.requests: list[tuple[str, str, dict]] = []  # (method, path, query) in arrival order
        self.tokens_issued = 0
        self._tokens: dict[str, float] = {}  # token -> expiry (epoch)
        self._link_key = secrets.token_bytes(16)
        self._faults: dict[tuple, list[tuple[int, bytes | None, dict]]] = {}  # ("page", offset) ... -> answers
        self._page_hangs: dict[int, list[float]] = {}
        self._lock = threading.Lock()
        self._release = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.url = ""

    # -- lifecycle -----------------------------------------------------------------------------------

    def start(self) -> SonyCiStandIn:
        handler = type("Handler", (_Handler,), {"standin": self})
        self._server = _Server(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="sonyci-standin", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._release.set()  # a hung request answers now
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(timeout=5)
            self._server = None

    def __enter__(self) -> SonyCiStandIn:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def credentials(self) -> dict:
        """Keyword arguments for ``SonyCiAccount`` that sign in to this stand-in."""
        return {
            "username": self.username,
            "password": self.password,
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "api_url": self.url,
            "token_url": self.url + TOKEN_PATH,
        }

    def contents_path(self, workspace_id: str | None = None) -> str:
        return f"/workspaces/{workspace_id or self.workspace_id}/contents"

    # -- the workspace -------------------------------------------------------------------------------

    def add_asset(
        self,
        name: str,
        data: bytes = b"",
        *,
        type: str = "Video",
        format: str | None = None,
        asset_id: str | None = None,
        size: int | None = None,
        **extra,
    ) -> StandInAsset:
        """Put an asset at the end of the workspace; ``format`` defaults to the name's extension."""
        if format is None:
            format = name.rsplit(".", 1)[-1].lower() if "." in name else ""
        asset = StandInAsset(asset_id or uuid.uuid4().hex, name, type, format, data, size, extra)
        with self._lock:
            self.assets.append(asset)
        return asset

    def add_assets(self, count: int, *, prefix: str = "cpb-aacip-", type: str = "Video", ext: str = "mp4") -> list:
        """``count`` assets named like the AAPB's (``cpb-aacip-000-00000001.mp4``...), each a few bytes."""
        start = len(self.assets)
        return [
            self.add_asset(f"{prefix}{n // 1000:03d}-{n:08d}.{ext}", f"bytes of asset {n}".encode(), type=type)
            for n in range(start, start + count)
        ]

    def remove_asset(self, asset_id: str) -> None:
        with self._lock:
            self.assets = [asset for asset in self.assets if asset.asset_id != asset_id]

    def asset(self, asset_id: str) -> StandInAsset | None:
        with self._lock:
            return next((asset for asset in self.assets if asset.asset_id == asset_id), None)

    # -- knobs ---------------------------------------------------------------------------------------

    def _add_fault(self, key: tuple, status: int, body: bytes | None, headers: dict | None, times: int) -> None:
        with self._lock:
            self._faults.setdefault(key, []).extend([(status, body, headers or {})] * times)

    def _take_fault(self, key: tuple) -> tuple[int, bytes | None, dict] | None:
        with self._lock:
            queued = self._faults.get(key)
            return queued.pop(0) if queued else None

    def fail_page(
        self, offset: int, status: int = 500, *, body: bytes | None = None, headers: dict | None = None, times: int = 1
    ) -> None:
        """The next ``times`` requests for the contents page at ``offset`` answer ``status`` (and ``body`` if given)."""
        self._add_fault(("page", offset), status, body, headers, times)

    def hang_page(self, offset: int, seconds: float = 30.0, *, times: int = 1) -> None:
        """The next ``times`` requests for the page at ``offset`` wait ``seconds`` (or until stop) before answering."""
        with self._lock:
            self._page_hangs.setdefault(offset, []).extend([seconds] * times)

    def fail_token(
        self, status: int = 500, *, body: bytes | None = None, headers: dict | None = None, times: int = 1
    ) -> None:
        """The next ``times`` sign-ins answer ``status`` (and ``body`` if given), whatever the credentials."""
        self._add_fault(("token",), status, body, headers, times)

    def fail_download(
        self,
        asset_id: str,
        status: int = 500,
        *,
        body: bytes | None = None,
        headers: dict | None = None,
        times: int = 1,
    ) -> None:
        """The next ``times`` requests for the download link of ``asset_id`` answer ``status`` (and ``body``)."""
        self._add_fault(("download", asset_id), status, body, headers, times)

    def revoke_tokens(self) -> None:
        """Every token issued so far stops working: the next API request answers 401."""
        with self._lock:
            self._tokens.clear()

    def hits_under(self, prefix: str) -> int:
        """How many requests arrived for paths starting with ``prefix``."""
        with self._lock:
            return sum(count for path, count in self.hits.items() if path.startswith(prefix))

    # -- internals used by the handler ---------------------------------------------------------------

    def _sign(self, asset_id: str, expires: int) -> str:
        digest = hmac.new(self._link_key, f"{asset_id}:{expires}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")

    def signed_location(self, asset_id: str, expires: int | None = None) -> str:
        expires = int(time.time()) + self.link_lifetime if expires is None else expires
        signature = self._sign(asset_id, expires)
        return f"{self.url}/signed/{quote(asset_id)}?Expires={expires}&Signature={signature}&Key-Pair-Id=APKASTANDIN"


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        """A client that gave up (a timeout test) closed the socket: that is no error of the stand-in's."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def _error(code: str, message: str) -> dict:
    return {"code": code, "message": message}


class _Handler(BaseHTTPRequestHandler):
    standin: SonyCiStandIn
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):  # quiet: the tests read counters, not a log
        pass

    # -- plumbing ------------------------------------------------------------------------------------

    def _record(self) -> tuple[str, dict]:
        parts = urlsplit(self.path)
        query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
        ci = self.standin
        with ci._lock:
            ci.hits[parts.path] += 1
            ci.requests.append((self.command, parts.path, query))
        return parts.path, query

    def _send(self, status: int, body: bytes, content_type: str = "application/json; charset=utf-8", headers=None):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-cache")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status: int, payload, headers=None):
        self._send(status, json.dumps(payload).encode(), headers=headers)

    def _fault(self, fault: tuple[int, bytes | None, dict], default: dict | None = None):
        """Answer as a test asked: its status, its body (JSON unless it starts otherwise) and headers."""
        status, body, headers = fault
        if body is None:
            body = json.dumps(default or _error("ServerError", "The stand-in was told to fail.")).encode()
        content_type = "application/json; charset=utf-8" if body[:1] in (b"{", b"[") else "text/html"
        self._send(status, body, content_type, headers)

    def _authorized(self) -> bool:
        header = self.headers.get("Authorization", "")
        token = header[7:] if header.startswith("Bearer ") else ""
        with self.standin._lock:
            expiry = self.standin._tokens.get(token)
        if expiry is None or expiry < time.time():
            self._json(401, _error("Unauthorized", "Authorization has been denied for this request."))
            return False
        return True

    # -- verbs ---------------------------------------------------------------------------------------

    def do_POST(self):
        path, _query = self._record()
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode("utf-8", "replace")
        if path != TOKEN_PATH:
            return self._json(404, _error("NotFound", "No such resource."))
        self._token(body)

    def do_GET(self):
        path, query = self._record()
        parts = [part for part in path.split("/") if part]
        if len(parts) == 3 and parts[0] == "workspaces" and parts[2] == "contents":
            if self._authorized():
                self._contents(parts[1], query)
        elif len(parts) == 3 and parts[0] == "assets" and parts[2] == "download":
            if self._authorized():
                self._download(parts[1])
        elif len(parts) == 2 and parts[0] == "signed":
            self._signed(parts[1], query)
        else:
            self._json(404, _error("NotFound", "No such resource."))

    do_HEAD = do_GET

    # -- endpoints -----------------------------------------------------------------------------------

    def _token(self, body: str):
        ci = self.standin
        fault = ci._take_fault(("token",))
        if fault is not None:
            return self._fault(fault, {"error": "server_error", "error_description": "The stand-in was told to fail."})
        form = {key: values[-1] for key, values in parse_qs(body).items()}
        if form.get("client_id") != ci.client_id or form.get("client_secret") != ci.client_secret:
            return self._json(
                401,
                {"error": "invalid_client", "error_description": "Invalid client id and client secret combination."},
            )
        header = self.headers.get("Authorization", "")
        try:
            user, _, password = base64.b64decode(header.removeprefix("Basic ")).decode().partition(":")
        except ValueError:
            user, password = "", ""
        if form.get("grant_type") != "password" or (user, password) != (ci.username, ci.password):
            return self._json(400, {"error": "invalid_grant", "error_description": "Invalid username or password."})
        token = secrets.token_hex(16)
        with ci._lock:
            ci._tokens[token] = time.time() + ci.token_lifetime
            ci.tokens_issued += 1
        self._json(
            200,
            {
                "access_token": token,
                "expires_in": ci.token_lifetime,
                "token_type": "bearer",
                "refresh_token": secrets.token_hex(16),
            },
        )

    def _contents(self, workspace_id: str, query: dict):
        ci = self.standin
        if workspace_id != ci.workspace_id:
            return self._json(404, _error("NotFound", "Workspace not found."))
        try:
            limit = min(max(int(query.get("limit", 50)), 1), ci.max_limit)
            offset = max(int(query.get("offset", 0)), 0)
        except ValueError:
            return self._json(400, _error("BadRequest", "limit and offset must be integers."))
        with ci._lock:
            hangs = ci._page_hangs.get(offset)
            hang = hangs.pop(0) if hangs else None
            assets = list(ci.assets)
        if hang is not None:
            ci._release.wait(hang)
        fault = ci._take_fault(("page", offset))
        if fault is not None:
            return self._fault(fault)
        fields = [name for name in query["fields"].split(",") if name] if query.get("fields") else None
        if ci.ignore_offset:
            offset = 0
        page = assets[offset : offset + limit]
        self._json(
            200,
            {
                "limit": limit,
                "offset": offset,
                "count": len(assets),
                "kind": "Asset" if query.get("kind", "").lower() == "asset" else "All",
                "type": ["All"],
                "order": {"by": "CreatedOn", "direction": "Asc"},
                "items": [asset.as_item(ci.url, fields) for asset in page],
            },
        )

    def _download(self, asset_id: str):
        ci = self.standin
        fault = ci._take_fault(("download", asset_id))
        if fault is not None:
            return self._fault(fault)
        asset = ci.asset(asset_id)
        if asset is None:
            return self._json(404, _error("NotFound", "Asset not found."))
        self._json(
            200,
            {
                "location": ci.signed_location(asset.asset_id),
                "id": asset.asset_id,
                "size": len(asset.data),
                "proxies": [],
                "thumbnails": asset.thumbnails(ci.url),
            },
        )

    def _signed(self, asset_id: str, query: dict):
        ci = self.standin
        try:
            expires = int(query.get("Expires", ""))
        except ValueError:
            expires = 0
        good = hmac.compare_digest(query.get("Signature", ""), ci._sign(asset_id, expires))
        asset = ci.asset(asset_id)
        if not good or expires < time.time() or asset is None:
            body = b"<?xml version='1.0' encoding='UTF-8'?><Error><Code>AccessDenied</Code></Error>"
            return self._send(403, body, "text/xml")
        data = asset.data
        content_type = mimetypes.guess_type(asset.name)[0] or "application/octet-stream"
        status, headers = 200, {"Accept-Ranges": "bytes"}
        spec = self.headers.get("Range", "")
        if spec.startswith("bytes=") and data:
            first, _, last = spec[6:].partition("-")
            try:
                start = int(first) if first else max(len(data) - int(last), 0)
                end = int(last) if first and last else len(data) - 1
            except ValueError:
                start, end = 0, len(data) - 1
            end = min(end, len(data) - 1)
            if start > end:
                return self._send(416, b"", "text/plain", {"Content-Range": f"bytes */{len(data)}"})
            headers["Content-Range"] = f"bytes {start}-{end}/{len(data)}"
            status, data = 206, data[start : end + 1]
        self._send(status, data, content_type, headers)
