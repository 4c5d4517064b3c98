"""A real clams-python app that reports its progress through Chowda's extension (runs/progress.py).

It holds every request until the test lets it go, and meanwhile answers ``GET /progress?location=…``
with how far it says it has got with the document at that location.
"""

import threading

from clams.app import ClamsApp
from clams.appmetadata import AppMetadata
from clams.restify import Restifier
from flask import jsonify, request
from mmif import AnnotationTypes, DocumentTypes

from tests.clams_test_apps import serve


class SlowSegmenter(ClamsApp):
    def __init__(self):
        super().__init__()
        self.release = threading.Event()
        self.working_on: dict[str, float] = {}

    def _appmetadata(self):
        metadata = AppMetadata(
            name="Slow Segmenter",
            description="Segments slowly and says how far it has got.",
            app_license="MIT",
            identifier="http://apps.chowda.test/slow-segmenter",
            url="http://apps.chowda.test/slow-segmenter",
            app_version="v2",
        )
        metadata.add_input_oneof(DocumentTypes.AudioDocument, DocumentTypes.VideoDocument)
        metadata.add_output(AnnotationTypes.TimeFrame)
        metadata.add_more("chowda.progress", "progress")
        return metadata

    def _annotate(self, mmif, **parameters):
        document = (
            mmif.get_documents_by_type(DocumentTypes.AudioDocument)
            or mmif.get_documents_by_type(DocumentTypes.VideoDocument)
        )[0]
        self.working_on[document.location] = 0.5
        self.release.wait(30)
        self.working_on.pop(document.location, None)
        view = mmif.new_view()
        self.sign_view(view, parameters)
        view.new_contain(AnnotationTypes.TimeFrame, document=document.id)
        view.new_annotation(AnnotationTypes.TimeFrame, start=0, end=1000)
        return mmif


def serve_reporting(app: SlowSegmenter):
    """Serve the app with its progress route beside the CLAMS route."""
    flask_app = Restifier(app).flask_app

    def progress():
        location = request.args.get("location", "")
        if location not in app.working_on:
            return jsonify({"detail": "not working on that document"}), 404
        return jsonify({"progress": app.working_on[location], "message": "half way"})

    flask_app.add_url_rule("/progress", "progress", progress)
    return serve(flask_app)
