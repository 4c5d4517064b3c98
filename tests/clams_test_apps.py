"""Small real CLAMS apps written with clams-python, served on loopback for the tests."""

import threading
from dataclasses import dataclass

from clams.app import ClamsApp
from clams.appmetadata import AppMetadata
from clams.restify import Restifier
from mmif import AnnotationTypes, DocumentTypes
from werkzeug.serving import make_server


class Segmenter(ClamsApp):
    """Takes audio or video; adds one TimeFrame per requested segment."""

    def _appmetadata(self):
        metadata = AppMetadata(
            name="Test Segmenter",
            description="Splits a time-based document into segments.",
            app_license="MIT",
            identifier="http://apps.chowda.test/segmenter",
            url="http://apps.chowda.test/segmenter",
            app_version="v1.2",
        )
        metadata.add_input_oneof(DocumentTypes.AudioDocument, DocumentTypes.VideoDocument)
        metadata.add_output(AnnotationTypes.TimeFrame, frameType="speech")
        metadata.add_parameter(name="threshold", type="number", default=0.5, description="Energy threshold.")
        metadata.add_parameter(name="segments", type="integer", default=2, description="How many segments.")
        metadata.add_parameter(
            name="mode", type="string", default="fast", choices=["fast", "accurate"], description="Speed or care."
        )
        metadata.add_parameter(name="label", type="string", description="Label for every segment (required).")
        metadata.add_parameter(name="keepSilence", type="boolean", default=False, description="Keep silence.")
        metadata.add_parameter(name="tags", type="string", multivalued=True, default=[], description="Tags.")
        metadata.add_parameter(name="labelMap", type="map", default=[], description="Relabel segments.")
        return metadata

    def _annotate(self, mmif, **parameters):
        document = (
            mmif.get_documents_by_type(DocumentTypes.AudioDocument)
            or mmif.get_documents_by_type(DocumentTypes.VideoDocument)
        )[0]
        view = mmif.new_view()
        self.sign_view(view, parameters)
        view.new_contain(AnnotationTypes.TimeFrame, document=document.id)
        for i in range(int(parameters.get("segments", 2))):
            view.new_annotation(
                AnnotationTypes.TimeFrame, start=i * 1000, end=(i + 1) * 1000, label=parameters.get("label")
            )
        return mmif


class Transcriber(ClamsApp):
    """Reads TimeFrames; adds one TextDocument per TimeFrame."""

    def _appmetadata(self):
        metadata = AppMetadata(
            name="Test Transcriber",
            description="Writes a text for every time frame.",
            app_license="MIT",
            identifier="http://apps.chowda.test/transcriber",
            url="http://apps.chowda.test/transcriber",
            app_version="v0.3",
        )
        metadata.add_input(AnnotationTypes.TimeFrame)
        metadata.add_output(DocumentTypes.TextDocument)
        metadata.add_parameter(
            name="language", type="string", default="en", choices=["en", "fr"], description="Language."
        )
        return metadata

    def _annotate(self, mmif, **parameters):
        view = mmif.new_view()
        self.sign_view(view, parameters)
        for source in mmif.get_all_views_contain(AnnotationTypes.TimeFrame):
            for tf in source.get_annotations(AnnotationTypes.TimeFrame):
                view.new_textdocument(f"words in {tf.id}", lang=parameters.get("language", "en"))
        return mmif


class OcrOnImages(ClamsApp):
    """Needs an ImageDocument, which audio pipelines never have (for the type check)."""

    def _appmetadata(self):
        metadata = AppMetadata(
            name="Test OCR",
            description="Reads text in images.",
            app_license="MIT",
            identifier="http://apps.chowda.test/ocr",
            url="http://apps.chowda.test/ocr",
            app_version="v1",
        )
        metadata.add_input(DocumentTypes.ImageDocument)
        metadata.add_output(DocumentTypes.TextDocument)
        return metadata

    def _annotate(self, mmif, **parameters):
        view = mmif.new_view()
        self.sign_view(view, parameters)
        return mmif


class ToneDetector(ClamsApp):
    """Built as app-tonedetection v1.0 was: for MMIF 1.0, and run from a source checkout, so clams-python cannot tell
    its version ("unresolvable"). Takes audio; finds tones only in MMIF of its own release and, like the real app on
    an old SDK, answers an empty view, without a warning, for any other."""

    def _appmetadata(self):
        metadata = AppMetadata(
            name="Test Tones",
            description="Finds tones in audio.",
            app_license="MIT",
            identifier="http://apps.chowda.test/tones",
            url="http://apps.chowda.test/tones",
            mmif_version="1.0.4",
        )
        metadata.add_input(DocumentTypes.AudioDocument)
        metadata.add_output(AnnotationTypes.TimeFrame, frameType="tone")
        return metadata

    def _annotate(self, mmif, **parameters):
        view = mmif.new_view()
        self.sign_view(view, parameters)
        view.new_contain(AnnotationTypes.TimeFrame, timeUnit="milliseconds")
        release = str(mmif.metadata.mmif).rstrip("/").rsplit("/", 1)[-1]
        if release.split(".")[:2] == self.metadata.mmif_version.split(".")[:2]:
            view.new_annotation(AnnotationTypes.TimeFrame, start=0, end=1000, frameType="tone")
        return mmif


@dataclass
class ServedApp:
    url: str
    server: object
    thread: threading.Thread

    def stop(self):
        self.server.shutdown()
        self.thread.join(timeout=5)


def not_clams_app(environ, start_response):
    """A JSON service that is not a CLAMS app."""
    start_response("200 OK", [("Content-Type", "application/json")])
    return [b'{"status": "ok", "service": "something else"}']


def serve(app) -> ServedApp:
    """Serve a CLAMS app (or any WSGI app) on a free loopback port in a background thread."""
    wsgi_app = Restifier(app).flask_app if isinstance(app, ClamsApp) else app
    server = make_server("127.0.0.1", 0, wsgi_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return ServedApp(url=f"http://127.0.0.1:{server.server_port}/", server=server, thread=thread)
