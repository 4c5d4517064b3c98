from django.core.management.base import BaseCommand

from batches.durations import media_probe_durations
from batches.management.commands._media_files import add_batch_argument, media_files


class Command(BaseCommand):
    help = (
        "Read how long each audio and video file plays (WAV headers, or ffprobe when installed), so that "
        "estimates of a step's time are per second of media. Only files without a duration are read."
    )

    def add_arguments(self, parser):
        add_batch_argument(parser)

    def handle(self, *args, batch=None, **options):
        files = media_files(batch)
        known, unknown = media_probe_durations(files)
        self.stdout.write(
            f"Read the duration of {known} file(s); {unknown} could not be read (not a local file, or no ffprobe)."
        )
