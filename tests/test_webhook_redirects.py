"""A batch's webhook is never followed through a redirect: the signed body goes to the checked URL or nowhere."""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from reports import notifications


class Server:
    """A loopback HTTP server that records what reaches it and answers every request with ``status`` (and
    ``location``, for a redirect)."""

    def __init__(self, status: int = 200, location: str = ""):
        self.hits: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self):
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                server.hits.append(self.command)
                self.send_response(status)
                if location:
                    self.send_header("Location", location)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_GET = do_POST = _answer

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_port
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self):
        self.httpd.shutdown()


@pytest.fixture
def servers():
    started = []

    def start(*args, **kwargs):
        started.append(Server(*args, **kwargs))
        return started[-1]

    yield start
    for server in started:
        server.stop()


@pytest.mark.parametrize("status", [302, 307, 308])
def test_a_webhook_that_redirects_elsewhere_is_a_failure_with_a_sentence_and_nothing_follows_it(
    settings, servers, status
):
    settings.WEBHOOK_SECRET = "webhook-secret-for-tests"  # pragma: allowlist secret
    # 0.0.0.0 reaches this machine's own services: where a redirect must never take a signed body.
    inside = servers()
    hook = servers(status, location=f"http://0.0.0.0:{inside.port}/internal")
    url = f"http://127.0.0.1:{hook.port}/hook"

    reason = notifications.webhook_post(url, b'{"event": "batch.finished"}', event="batch.finished", delivery="d1")

    assert hook.hits == ["POST"]
    assert inside.hits == []
    assert reason == (
        f"{url} answered HTTP {status}, redirecting to http://0.0.0.0:{inside.port}/internal, and Chowda does not "
        "follow a webhook's redirects (set the webhook URL to the address it redirects to)"
    )
    assert "redirecting to" in notifications.webhook_problem(url, reason, 3, None)
