from django.core.management.base import BaseCommand, CommandError

from batches.models import Batch, MediaFile
from batches.services import media_make_thumbnails


class Command(BaseCommand):
    help = (
        "Queue a thumbnail for media files (a still of video and images, a waveform strip of audio); a worker "
        "makes them in the background. Files that already have one get a new one."
    )

    def add_arguments(self, parser):
        parser.add_argument("--batch", type=int, help="Only the files of this batch (its id).")
        parser.add_argument("--missing", action="store_true", help="Only files without a thumbnail.")

    def handle(self, *args, batch=None, missing=False, **options):
        files = MediaFile.objects.all()
        if batch is not None:
            found = Batch.objects.filter(pk=batch).first()
            if found is None:
                raise CommandError(f"There is no batch with id {batch}; list them in the admin or the API.")
            files = found.media_files.all()
        if missing:
            files = files.filter(thumbnail="")
        self.stdout.write(media_make_thumbnails(files).sentence)
