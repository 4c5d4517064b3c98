import logging

from celery import shared_task

from batches.models import MediaFile
from batches.thumbnails import ThumbnailFailed, media_thumbnail_make

logger = logging.getLogger(__name__)


@shared_task(name="batches.make_thumbnail")
def make_thumbnail(media_file_id: int) -> None:
    """Make one media file's thumbnail in the background; a file that cannot be read keeps none."""
    media_file = MediaFile.objects.filter(pk=media_file_id).first()
    if media_file is None:
        return
    try:
        media_thumbnail_make(media_file)
    except ThumbnailFailed as exc:
        logger.warning("No thumbnail for %s: %s", media_file.guid, exc)
