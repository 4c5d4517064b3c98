"""MMIF downloads: one file as ``<guid>.mmif``, or many as a zip streamed while it is written."""

import io
import zipfile
from collections.abc import Iterable, Iterator

from django.core.files.storage import default_storage
from django.http import FileResponse, StreamingHttpResponse
from django.utils.text import slugify

from runs.models import Run, Status

CHUNK = 1024 * 1024


def mmif_response(name: str, filename: str) -> FileResponse:
    return FileResponse(
        default_storage.open(name, "rb"), as_attachment=True, filename=filename, content_type="application/json"
    )


class ChunkSink(io.RawIOBase):
    """A write-only stream whose bytes are collected and handed out as they come."""

    def __init__(self):
        self.chunks: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self.chunks.append(bytes(data))
        return len(data)

    def take(self) -> bytes:
        out = b"".join(self.chunks)
        self.chunks.clear()
        return out


def zip_chunks(members: Iterable[tuple[str, str]]) -> Iterator[bytes]:
    """The bytes of a zip of (name in the zip, stored MMIF name) pairs, a chunk at a time: never all in memory."""
    sink = ChunkSink()
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for arcname, name in members:
            with archive.open(arcname, "w", force_zip64=True) as target, default_storage.open(name, "rb") as source:
                while chunk := source.read(CHUNK):
                    target.write(chunk)
                    yield sink.take()
            yield sink.take()
    yield sink.take()


def zip_response(members: Iterable[tuple[str, str]], filename: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse(zip_chunks(members), content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def batch_zip_response(batch) -> StreamingHttpResponse:
    """The final MMIF of every file of the batch whose latest run succeeded, as ``<guid>.mmif`` in a zip."""
    members = (
        Run.objects.current()
        .filter(batch=batch, status=Status.SUCCEEDED)
        .exclude(final_mmif="")
        .order_by("media_file__guid")
        .values_list("media_file__guid", "final_mmif")
    )
    return zip_response(
        ((f"{guid}.mmif", name) for guid, name in members.iterator()), f"{slugify(batch.name) or 'batch'}-mmif.zip"
    )
