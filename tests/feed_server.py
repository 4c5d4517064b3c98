"""An HTTP JSON feed of media items on loopback, in the format Chowda's http_feed sources read.

Pages of ``{"items": [...], "next": URL | null}``, each with an ETag that changes when its items do, answered
304 to a matching If-None-Match; knobs to make a page fail (a status, a body that is not JSON) or wait, and
counters.
"""

import hashlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


class FeedServer:
    def __init__(self, page_size: int = 2, token: str = ""):
        self.items: list[dict] = []
        self.page_size = page_size
        self.token = token
        self.failures: dict[int, tuple[int, bytes]] = {}  # page number -> (status, body), answered once
        self.requests: list[tuple[int, str]] = []  # (page, answer status)
        self.held: dict[int, threading.Event] = {}  # page number -> answered only once the event is set
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_port}/feed"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def fail(self, page: int, status: int = 500, body: bytes = b'{"error": "boom"}') -> None:
        self.failures[page] = (status, body)

    def hold(self, page: int) -> threading.Event:
        """Answer ``page`` only once the returned event is set (a sync caught in the middle)."""
        self.held[page] = threading.Event()
        return self.held[page]

    def _page(self, number: int) -> tuple[bytes, str]:
        with self.lock:
            start = (number - 1) * self.page_size
            items = self.items[start : start + self.page_size]
            more = start + self.page_size < len(self.items)
        body = json.dumps({"items": items, "next": f"{self.url}?page={number + 1}" if more else None}).encode()
        return body, '"' + hashlib.sha256(body).hexdigest()[:16] + '"'

    def _handler(self):
        feed = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                number = int(parse_qs(urlsplit(self.path).query).get("page", ["1"])[0])
                if feed.token and self.headers.get("Authorization") != f"Bearer {feed.token}":
                    return self._answer(number, 401, b'{"error": "no token"}')
                if number in feed.held:
                    feed.held[number].wait(timeout=120)
                failure = feed.failures.pop(number, None)
                if failure:
                    return self._answer(number, *failure)
                body, etag = feed._page(number)
                if self.headers.get("If-None-Match") == etag:
                    return self._answer(number, 304, b"", etag)
                return self._answer(number, 200, body, etag)

            def _answer(self, number, status, body, etag=""):
                with feed.lock:
                    feed.requests.append((number, status))
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                if etag:
                    self.send_header("ETag", etag)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        return Handler
