"""CLAMS apps (and two impostors) for the runner tests, with knobs the tests turn and counters they read."""

import io
import json
import threading
import time
from collections import Counter

from clams.app import ClamsApp
from clams.appmetadata import AppMetadata
from clams.restify import Restifier
from mmif import AnnotationTypes, DocumentTypes


class Behaviour:
    """Shared, thread-safe knobs and counters of one served app."""

    def __init__(self):
        self.lock = threading.Lock()
        self.released = threading.Event()
        self.reset()

    def reset(self):
        with getattr(self, "lock", threading.Lock()):
            self.requests = 0
            self.in_flight = 0
            self.max_in_flight = 0
            self.delay = 0.0
            self.fail_next = 0  # answer 503 to this many requests first
            self.queries = []
            self.locations = Counter()  # requests per media location (one file each)
        self.released.set()

    def hold(self):
        """Keep every request waiting, counted as in flight, until ``release()`` (or ``reset()``)."""
        self.released.clear()

    def release(self):
        self.released.set()

    def enter(self, query: str, location: str = ""):
        with self.lock:
            self.locations[location] += 1
            self.requests += 1
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            self.queries.append(query)

    def leave(self):
        with self.lock:
            self.in_flight -= 1


def _metadata(name: str, *, inputs, output, parameters=()):
    metadata = AppMetadata(
        name=name,
        description=f"{name} for Chowda's runner tests.",
        app_license="MIT",
        identifier=f"http://apps.chowda.test/{name.lower()}",
        url=f"http://apps.chowda.test/{name.lower()}",
        app_version="v1",
    )
    for document_type in inputs:
        metadata.add_input(document_type)
    metadata.add_output(output)
    for parameter in parameters:
        metadata.add_parameter(**parameter)
    return metadata


class Tagger(ClamsApp):
    """Adds a view with one TimeFrame labelled with its ``label`` parameter; or raises if ``explode`` is set."""

    def __init__(self, name: str, inputs=(DocumentTypes.VideoDocument,)):
        self.app_name, self.inputs = name, inputs
        super().__init__()

    def _appmetadata(self):
        return _metadata(
            self.app_name,
            inputs=self.inputs,
            output=AnnotationTypes.TimeFrame,
            parameters=[
                {"name": "label", "type": "string", "default": "x", "description": "Label of the time frame."},
                {"name": "explode", "type": "boolean", "default": False, "description": "Raise an error."},
                {
                    "name": "needs_file",
                    "type": "boolean",
                    "default": False,
                    "description": "Read the document's file:// location, as apps that decode media do.",
                },
            ],
        )

    def _annotate(self, mmif, **parameters):
        if parameters.get("explode"):
            raise RuntimeError("CUDA out of memory")
        if parameters.get("needs_file"):
            location = mmif.documents[0].location
            with open(location.removeprefix("file://"), "rb"):  # raises as a media decoder would: No such file…
                pass
        view = mmif.new_view()
        self.sign_view(view, parameters)
        view.new_contain(AnnotationTypes.TimeFrame)
        view.new_annotation(AnnotationTypes.TimeFrame, start=0, end=1000, label=parameters.get("label"))
        return mmif


def read_body(environ) -> bytes:
    return environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))


def with_behaviour(wsgi_app, behaviour: Behaviour):
    """Count requests and concurrency, hold them, add a delay, or answer 503, in front of a WSGI app."""

    def app(environ, start_response):
        if environ["REQUEST_METHOD"] != "POST":
            return wsgi_app(environ, start_response)
        body = read_body(environ)
        environ["wsgi.input"], environ["CONTENT_LENGTH"] = io.BytesIO(body), str(len(body))
        behaviour.enter(environ.get("QUERY_STRING", ""), _location(body))
        try:
            with behaviour.lock:
                fail = behaviour.fail_next > 0
                behaviour.fail_next -= fail
            behaviour.released.wait()
            if behaviour.delay:
                time.sleep(behaviour.delay)
            if fail:
                read_body(environ)
                start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
                return [b"busy"]
            return [b"".join(wsgi_app(environ, start_response))]
        finally:
            behaviour.leave()

    return app


def _location(body: bytes) -> str:
    try:
        return json.loads(body)["documents"][0]["properties"]["location"]
    except (ValueError, KeyError, IndexError, TypeError):
        return ""


def static_answer(body: bytes, content_type: str = "application/json"):
    """An impostor that answers every POST with the same body and HTTP 200."""

    def app(environ, start_response):
        if environ["REQUEST_METHOD"] == "POST":
            read_body(environ)
            start_response("200 OK", [("Content-Type", content_type)])
            return [body]
        start_response("200 OK", [("Content-Type", "application/json")])
        return [json.dumps(json.loads(Tagger("Impostor").appmetadata())).encode()]

    return app


def echo_unchanged(environ, start_response):
    """Answers the MMIF it was sent, without adding a view."""
    body = read_body(environ)
    if environ["REQUEST_METHOD"] != "POST":
        body = Tagger("Lazy").appmetadata().encode()
    start_response("200 OK", [("Content-Type", "application/json")])
    return [body]


def tagger_wsgi(name: str, **kwargs):
    return Restifier(Tagger(name, **kwargs)).flask_app


def tones_wsgi():
    """The tone detector of tests/clams_test_apps.py: built for MMIF 1.0, of unknown version; finds nothing in 1.2."""
    from tests.clams_test_apps import ToneDetector

    return Restifier(ToneDetector()).flask_app
