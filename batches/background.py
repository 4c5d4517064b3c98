"""The background work of media files (background/): their thumbnails and how long they play.

Registered when Django starts (batches/apps.py); the jobs are recorded by batches/services.py and the
commands, and done by the background queue's workers, never during a run.
"""

from background.kinds import JobFailed, Kind, register
from batches.durations import media_seconds
from batches.models import MediaFile
from batches.thumbnails import ThumbnailFailed, media_thumbnail_make


def _thumbnail(job) -> None:
    media_file = MediaFile.objects.filter(pk=job.target).first()
    if media_file is None:
        return  # deleted while the job waited
    try:
        media_thumbnail_make(media_file)
    except ThumbnailFailed as exc:
        raise JobFailed(str(exc)) from None


def _duration(job) -> None:
    media_file = MediaFile.objects.filter(pk=job.target).only("pk", "guid", "location").first()
    if media_file is None:
        return
    seconds = media_seconds(media_file.location)
    if seconds is None:
        raise JobFailed(
            f"Chowda cannot tell how long {media_file.guid} plays: it reads only local files "
            "(WAV headers, or ffprobe when installed), and this one is at "
            f"{media_file.location}. Estimates for it count per file instead."
        )
    MediaFile.objects.filter(pk=media_file.pk).update(duration=seconds)


def register_kinds() -> None:
    register(Kind("thumbnail", _thumbnail, describe=lambda pk: f"make the thumbnail of media file {pk}", timeout=900))
    register(Kind("duration", _duration, describe=lambda pk: f"read how long media file {pk} plays", timeout=120))
