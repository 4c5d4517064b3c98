"""How long a media file plays, so that a step's expected time can be per second of media (runs/estimates.py).

Read from the file itself where Chowda can: WAV headers with Python's ``wave``, anything else with
``ffprobe`` when it is on the PATH. Only ``file://`` locations are read; http(s) media keep no duration.
"""

import shutil
import subprocess
import wave
from urllib.parse import unquote, urlsplit

from django.db.models import QuerySet

from batches.models import DocumentType, MediaFile

PROBE_TIMEOUT = 30


def media_seconds(location: str) -> float | None:
    """Seconds of audio or video at ``location``, or None if Chowda cannot tell."""
    parts = urlsplit(location)
    if parts.scheme != "file":
        return None
    path = unquote(parts.path)
    try:
        with wave.open(path, "rb") as audio:
            return audio.getnframes() / audio.getframerate()
    except (wave.Error, EOFError, OSError, ZeroDivisionError):
        pass
    ffprobe = shutil.which("ffprobe")
    if ffprobe is None:
        return None
    try:
        answer = subprocess.run(
            [ffprobe, "-v", "error", "-show_entries", "format=duration", "-of", "default=nw=1:nk=1", path],
            capture_output=True,
            text=True,
            timeout=PROBE_TIMEOUT,
            check=True,
        )
        return float(answer.stdout.strip())
    except (subprocess.SubprocessError, OSError, ValueError):
        return None


def media_probe_durations(files: QuerySet[MediaFile]) -> tuple[int, int]:
    """Write the duration of the audio and video files that have none yet; returns (found, could not tell)."""
    found = unknown = 0
    time_based = files.filter(duration__isnull=True, document_type__in=[DocumentType.AUDIO, DocumentType.VIDEO])
    for media in time_based.only("pk", "location").iterator():
        seconds = media_seconds(media.location)
        if seconds is None:
            unknown += 1
        else:
            MediaFile.objects.filter(pk=media.pk).update(duration=seconds)
            found += 1
    return found, unknown
