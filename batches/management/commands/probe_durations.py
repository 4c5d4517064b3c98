from django.core.management.base import BaseCommand, CommandError

from batches.durations import media_probe_durations
from batches.models import Batch, MediaFile


class Command(BaseCommand):
    help = (
        "Read how long each audio and video file plays (WAV headers, or ffprobe when installed), so that "
        "estimates of a step's time are per second of media. Only files without a duration are read."
    )

    def add_arguments(self, parser):
        parser.add_argument("--batch", type=int, help="Only the files of this batch (its id).")

    def handle(self, *args, batch=None, **options):
        files = MediaFile.objects.all()
        if batch is not None:
            found = Batch.objects.filter(pk=batch).first()
            if found is None:
                raise CommandError(f"There is no batch with id {batch}; list them in the admin or the API.")
            files = found.media_files.all()
        known, unknown = media_probe_durations(files)
        self.stdout.write(
            f"Read the duration of {known} file(s); {unknown} could not be read (not a local file, or no ffprobe)."
        )
