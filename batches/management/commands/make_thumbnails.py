from django.core.management.base import BaseCommand, CommandError

from batches.management.commands._media_files import add_batch_argument, media_files
from batches.services import media_make_thumbnails
from chowda_site.startup import refuse_unknown_redis


class Command(BaseCommand):
    help = (
        "Queue a thumbnail for media files (a still of video and images, a waveform strip of audio); a worker "
        "makes them in the background. Files that already have one get a new one."
    )

    def add_arguments(self, parser):
        add_batch_argument(parser)
        parser.add_argument("--missing", action="store_true", help="Only files without a thumbnail.")

    def handle(self, *args, batch=None, missing=False, **options):
        files = media_files(batch)
        if missing:
            files = files.filter(thumbnail="")
        refuse_unknown_redis("manage.py make_thumbnails", CommandError)
        self.stdout.write(media_make_thumbnails(files).sentence)
