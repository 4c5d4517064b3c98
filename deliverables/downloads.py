"""Deliverables as downloads: one run's, or a batch's as a zip streamed while it is written (one entry per GUID)."""

import zipfile
from collections.abc import Iterable, Iterator

from django.http import HttpResponse, StreamingHttpResponse
from django.utils.text import slugify

from deliverables.formats import KINDS, FormatError, deliverable_text
from runs.downloads import ChunkSink
from runs.models import Run, Status
from runs.storage import open_mmif


def run_deliverable_text(run: Run, kind: str) -> str:
    """The deliverable ``kind`` of the run's final MMIF. Raises FormatError when it cannot be written."""
    with open_mmif(run.final_mmif.name) as stored:
        return deliverable_text(kind, stored.read().decode())


def deliverable_response(run: Run, kind: str) -> HttpResponse:
    """``<guid>.<ext>`` as an attachment. Raises FormatError when the MMIF cannot give it."""
    extension, content_type = KINDS[kind]
    response = HttpResponse(run_deliverable_text(run, kind), content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{run.media_file.guid}.{extension}"'
    return response


def zip_chunks(runs: Iterable[Run], kind: str) -> Iterator[bytes]:
    """A zip with ``<guid>.<ext>`` per run, written one entry at a time; a run whose MMIF cannot give the
    deliverable gets ``<guid>.problem.txt`` saying why instead."""
    extension = KINDS[kind][0]
    sink = ChunkSink()
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for run in runs:
            guid = run.media_file.guid
            try:
                archive.writestr(f"{guid}.{extension}", run_deliverable_text(run, kind))
            except FormatError as exc:
                archive.writestr(f"{guid}.problem.txt", f"{exc}\n")
            yield sink.take()
    yield sink.take()


def batch_deliverable_zip(batch, kind: str) -> StreamingHttpResponse:
    """The deliverable of every file of the batch whose latest run succeeded, in one zip."""
    runs = (
        Run.objects.current()
        .filter(batch=batch, status=Status.SUCCEEDED)
        .exclude(final_mmif="")
        .select_related("media_file")
        .order_by("media_file__guid")
    )
    response = StreamingHttpResponse(zip_chunks(runs.iterator(chunk_size=500), kind), content_type="application/zip")
    filename = f"{slugify(batch.name) or 'batch'}-{kind}.zip"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
