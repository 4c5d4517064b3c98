from django.core.management.base import CommandError

from batches.models import Batch, MediaFile
from chowda_site.ids import MAX_ID


def add_batch_argument(parser) -> None:
    parser.add_argument("--batch", type=int, help="Only the files of this batch (its id).")


def media_files(batch: int | None):
    """Every media file, or those of the batch with this id; a CommandError that says so when there is none."""
    if batch is None:
        return MediaFile.objects.all()
    found = Batch.objects.filter(pk=batch).first() if 1 <= batch <= MAX_ID else None
    if found is None:
        raise CommandError(f"There is no batch with id {batch}; list them in the admin or the API.")
    return found.media_files.all()
