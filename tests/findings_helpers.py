"""MMIF documents for the viewer's tests, written as a stream so that a view of 200,000 TimeFrames stays cheap."""

import json
from collections.abc import Iterable

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

TYPES = "http://clams.ai/vocabulary/type"
TIME_FRAME = f"{TYPES}/TimeFrame/v6"
TEXT_DOCUMENT = f"{TYPES}/TextDocument/v2"
ALIGNMENT = f"{TYPES}/Alignment/v1"
AUDIO_DOCUMENT = f"{TYPES}/AudioDocument/v2"
VIDEO_DOCUMENT = f"{TYPES}/VideoDocument/v2"


def document(kind=AUDIO_DOCUMENT, location="file:///media/a.wav", **properties) -> dict:
    return {"@type": kind, "properties": {"id": "d1", "mime": "audio/wav", "location": location, **properties}}


def view(view_id: str, app: str, annotations: Iterable[dict], contains: dict | None = None, **metadata) -> dict:
    """A view whose ``annotations`` may be a generator: it is written, never held."""
    return {
        "id": view_id,
        "metadata": {"app": app, "contains": contains or {}, **metadata},
        "annotations": annotations,
    }


def time_frames(view_id: str, count: int, *, step: int = 1000, labels=("sound", "silence")) -> Iterable[dict]:
    for i in range(count):
        yield {
            "@type": TIME_FRAME,
            "properties": {
                "id": f"{view_id}:tf_{i + 1}",
                "start": i * step,
                "end": (i + 1) * step,
                "label": labels[i % len(labels)],
            },
        }


def mmif_text(views: list[dict], documents: list[dict] | None = None) -> Iterable[str]:
    """The MMIF as JSON text in pieces, annotations written one at a time."""
    head = {"metadata": {"mmif": "http://mmif.clams.ai/1.2.0"}, "documents": documents or [document()]}
    yield json.dumps(head)[:-1] + ', "views": ['
    for index, one in enumerate(views):
        yield ", " if index else ""
        yield json.dumps({k: v for k, v in one.items() if k != "annotations"})[:-1] + ', "annotations": ['
        for number, annotation in enumerate(one["annotations"]):
            yield (", " if number else "") + json.dumps(annotation)
        yield "]}"
    yield "]}"


def store_mmif(name: str, views: list[dict], documents: list[dict] | None = None) -> str:
    """Write the MMIF into Django's storage under ``name``; returns the stored name."""
    return default_storage.save(name, ContentFile("".join(mmif_text(views, documents)).encode()))
