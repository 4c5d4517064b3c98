from django.core.management.base import BaseCommand

from batches.durations import media_probe_durations
from batches.management.commands._media_files import add_batch_argument, media_files
from batches.services import media_probe_durations_later


class Command(BaseCommand):
    help = (
        "Read how long each audio and video file without a duration plays (WAV headers, or ffprobe when "
        "installed), so that estimates of a step's time are per second of media: in the background, or here "
        "with --now."
    )

    def add_arguments(self, parser):
        add_batch_argument(parser)
        parser.add_argument(
            "--now", action="store_true", help="Read them in this process and wait, instead of in the background."
        )

    def handle(self, *args, batch=None, now=False, **options):
        files = media_files(batch)
        if not now:
            self.stdout.write(media_probe_durations_later(files).sentence)
            return
        known, unknown = media_probe_durations(files)
        self.stdout.write(
            f"Read the duration of {known} file(s); {unknown} could not be read (not a local file, or no ffprobe)."
        )
