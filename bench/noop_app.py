"""A no-op CLAMS app for the overhead benchmark: adds one view with one TimeFrame after a short sleep.

Run it as its own process (so its request handling does not share a GIL with the
code being measured):

    .venv/bin/python bench/noop_app.py --port 0 --work-ms 50

It prints ``listening on http://127.0.0.1:<port>/`` once it accepts connections.

Why sleep at all: real CLAMS apps take seconds to minutes per file. An app that
answered instantly would make the benchmark measure how the app, the worker, Redis
and the database fight over the CPU of a small (2-core) machine, not how much time
Chowda adds around each call. The sleep stands for the app's real work without
using CPU, so the figures show the orchestration cost and how well Chowda overlaps
waiting on apps.
"""

import argparse
import json
import logging
import sys
import threading
import time

from clams.app import ClamsApp
from clams.appmetadata import AppMetadata
from clams.restify import Restifier
from mmif import AnnotationTypes, DocumentTypes
from werkzeug.serving import WSGIRequestHandler, make_server


class NoopApp(ClamsApp):
    """Takes a video; sleeps ``work_ms`` and adds a view holding one TimeFrame."""

    def __init__(self, work_ms: float):
        self.work_seconds = work_ms / 1000
        super().__init__()

    def _appmetadata(self):
        metadata = AppMetadata(
            name="Bench No-op",
            description="Does nothing for a while, then adds one TimeFrame.",
            app_license="MIT",
            identifier="http://apps.chowda.test/bench-noop",
            url="http://apps.chowda.test/bench-noop",
            app_version="v1",
        )
        metadata.add_input(DocumentTypes.VideoDocument)
        metadata.add_output(AnnotationTypes.TimeFrame)
        return metadata

    def _annotate(self, mmif, **parameters):
        if self.work_seconds:
            time.sleep(self.work_seconds)
        view = mmif.new_view()
        self.sign_view(view, parameters)
        view.new_contain(AnnotationTypes.TimeFrame)
        view.new_annotation(AnnotationTypes.TimeFrame, start=0, end=1000, label="noop")
        return mmif


class Counted:
    """Counts the requests in flight in front of the app; ``GET /__stats`` answers the largest number seen (and
    resets it), so a benchmark can check that Chowda never sent more at once than the app's limit."""

    def __init__(self, wsgi_app):
        self.wsgi_app, self.lock, self.now, self.most = wsgi_app, threading.Lock(), 0, 0

    def __call__(self, environ, start_response):
        if environ.get("PATH_INFO") == "/__stats":
            with self.lock:
                body, self.most = json.dumps({"max_in_flight": self.most}).encode(), self.now
            start_response("200 OK", [("Content-Type", "application/json")])
            return [body]
        if environ["REQUEST_METHOD"] != "POST":
            return self.wsgi_app(environ, start_response)
        with self.lock:
            self.now += 1
            self.most = max(self.most, self.now)
        try:
            return [b"".join(self.wsgi_app(environ, start_response))]
        finally:
            with self.lock:
                self.now -= 1


class QuietHandler(WSGIRequestHandler):
    def log_request(self, *args, **kwargs):  # one line per request would cost more than it tells
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port (default)")
    parser.add_argument("--work-ms", type=float, default=50.0, help="simulated work per request (default 50)")
    args = parser.parse_args()

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    wsgi_app = Counted(Restifier(NoopApp(args.work_ms)).flask_app)
    server = make_server("127.0.0.1", args.port, wsgi_app, threaded=True, request_handler=QuietHandler)
    print(f"listening on http://127.0.0.1:{server.server_port}/", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    sys.exit(0)


if __name__ == "__main__":
    main()
