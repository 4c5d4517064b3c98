import time

from django.core.management.base import BaseCommand, CommandError

from chowda_site.ids import id_number
from sources.models import ACTIVE_SYNC_STATUSES, MediaSource, SyncRun, SyncStatus
from sources.services import SourceError, source_sync
from sources.sync import sync_run


class Command(BaseCommand):
    help = (
        "Sync a media source: list it and make each item a media file, by GUID; files gone from it are marked "
        "missing. In the background, or here with --wait."
    )

    def add_arguments(self, parser):
        parser.add_argument("source", help="The media source's id or its exact name.")
        parser.add_argument(
            "--wait",
            action="store_true",
            help="Do the sync in this process and say how it went (or, if one is running, wait for it to end).",
        )

    def handle(self, *args, source, wait=False, **options):
        number = id_number(source)
        found = (MediaSource.objects.filter(pk=number) if number else MediaSource.objects.filter(name=source)).first()
        if found is None:
            raise CommandError(f"There is no media source {source!r}: give a source id or its exact name.")
        try:
            asked = source_sync(found, trigger="command sync_media", in_background=not wait)
        except SourceError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(asked.sentence)
        if not wait:
            return
        if asked.started:
            sync_run(asked.sync.pk, progress=lambda said: self.stdout.write(f"  {said}"))
        else:
            while SyncRun.objects.filter(pk=asked.sync.pk, status__in=ACTIVE_SYNC_STATUSES).exists():
                time.sleep(1)
        sync = SyncRun.objects.get(pk=asked.sync.pk)
        for line in sync.skipped_examples:
            self.stdout.write(f"  skipped: {line}")
        for line in sync.error_messages:
            self.stdout.write(f"  error: {line}")
        if sync.status != SyncStatus.SUCCEEDED:
            raise CommandError(sync.sentence or f"Sync {sync.pk} ended {sync.status}.")
        self.stdout.write(sync.sentence)
