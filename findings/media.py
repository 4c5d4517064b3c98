"""Serving a media file to the browser's player: only files under CHOWDA_SERVED_MEDIA_ROOT, with range requests.

The path served is always the one the media file's record names; nothing in a request chooses it.
"""

import mimetypes
import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

from django.conf import settings
from django.http import FileResponse, HttpResponse, StreamingHttpResponse
from django.urls import reverse
from django.utils.http import content_disposition_header

from batches.models import MediaFile

CHUNK = 64 * 1024
RANGE = re.compile(r"^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$")
PLAYABLE = {"audio", "video"}


class MediaRefused(Exception):
    """The file cannot be served; ``status`` is the HTTP status and the message says why and what to do."""

    def __init__(self, status: int, sentence: str):
        super().__init__(sentence)
        self.status = status


def served_root() -> Path | None:
    root = settings.SERVED_MEDIA_ROOT
    return Path(root).resolve() if root else None


def served_path(media_file: MediaFile) -> Path:
    """The real path of the media file, once checked to lie under the served root after following symlinks and
    ``..``. Raises ``MediaRefused``: 404 when there is no such file, 403 when it lies outside the root."""
    parts = urlsplit(media_file.location)
    if parts.scheme != "file":
        raise MediaRefused(404, f"{media_file.guid} is at {media_file.location}, not in a file Chowda serves.")
    root = served_root()
    if root is None:
        raise MediaRefused(403, "Chowda serves no media files: set CHOWDA_SERVED_MEDIA_ROOT to the media folder.")
    if "\x00" in unquote(parts.path):  # a record from before imports refused it
        raise MediaRefused(
            404, f"The location of {media_file.guid} contains a NUL character, which no file has: correct its location."
        )
    try:
        path = Path(unquote(parts.path)).resolve(strict=True)
    except (OSError, RuntimeError):
        raise MediaRefused(
            404, f"The file of {media_file.guid} is missing ({media_file.location}): check its location."
        ) from None
    if not path.is_relative_to(root):
        raise MediaRefused(
            403,
            f"The file of {media_file.guid} lies outside the served media folder ({root}): move it there or "
            "set CHOWDA_SERVED_MEDIA_ROOT to the folder that holds it.",
        )
    if not path.is_file():
        raise MediaRefused(404, f"The location of {media_file.guid} is not a file: check its location.")
    return path


def player_source(media_file: MediaFile) -> tuple[str | None, str]:
    """Where the browser can read the media for a player, and, when it cannot, the sentence saying why."""
    if media_file.document_type not in PLAYABLE:
        return None, f"{media_file.get_document_type_display()} files have no player; the timeline shows the times."
    scheme = urlsplit(media_file.location).scheme
    if scheme in ("http", "https"):
        return media_file.location, ""
    try:
        served_path(media_file)
    except MediaRefused as exc:
        return None, f"No player: {exc}"
    return reverse("findings:media_content", args=[media_file.pk]), ""


def byte_range(header: str, size: int) -> tuple[int, int] | None:
    """The inclusive (first, last) byte of a single ``Range: bytes=…`` header, or None to send the whole file.

    Raises ``MediaRefused`` (416) when the range starts past the end.
    """
    match = RANGE.match(header or "")
    if not match or not any(match.groups()):
        return None  # absent, several ranges, or not bytes: answering the whole file is allowed
    first, last = match.groups()
    if not first:  # the last N bytes
        length = int(last)
        if length == 0:
            raise MediaRefused(416, "The requested range is empty.")
        return max(0, size - length), size - 1
    first = int(first)
    last = min(int(last), size - 1) if last else size - 1
    if first >= size or first > last:
        raise MediaRefused(416, f"The requested range starts past the end of the file ({size} bytes).")
    return first, last


def _read(path: Path, first: int, last: int):
    with path.open("rb") as file:
        file.seek(first)
        left = last - first + 1
        while left > 0 and (chunk := file.read(min(CHUNK, left))):
            left -= len(chunk)
            yield chunk


def media_response(request, media_file: MediaFile) -> HttpResponse:
    """The file (200) or the byte range the request asks for (206), or a sentence why not (403, 404, 416)."""
    try:
        path = served_path(media_file)
        size = path.stat().st_size
        wanted = byte_range(request.headers.get("Range", ""), size)
    except MediaRefused as exc:
        response = HttpResponse(str(exc), status=exc.status, content_type="text/plain; charset=utf-8")
        if exc.status == 416:
            response["Content-Range"] = f"bytes */{size}"
        return response
    content_type = media_file.mime_type or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    if wanted is None:
        response = FileResponse(path.open("rb"), content_type=content_type)
    else:
        first, last = wanted
        response = StreamingHttpResponse(_read(path, first, last), status=206, content_type=content_type)
        response["Content-Range"] = f"bytes {first}-{last}/{size}"
        response["Content-Length"] = str(last - first + 1)
    response["Accept-Ranges"] = "bytes"
    response["Content-Disposition"] = content_disposition_header(False, path.name)
    response["Cache-Control"] = "private, max-age=3600"
    return response
