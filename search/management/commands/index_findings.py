from django.core.management.base import BaseCommand, CommandError

from batches.models import Batch
from chowda_site.ids import id_number
from search.indexing import findings_backfill


class Command(BaseCommand):
    help = (
        "Put in the search index what succeeded steps found and is not in it yet (all batches, or one). "
        "Safe to stop and run again: it goes on where it stopped."
    )

    def add_arguments(self, parser):
        parser.add_argument("--batch", help="Only this batch's steps: its id.")

    def handle(self, *args, batch=None, **options):
        batch_id = None
        if batch is not None:
            batch_id = id_number(batch)
            if batch_id is None or not Batch.objects.filter(pk=batch_id).exists():
                raise CommandError(f"There is no batch {batch!r}: give the id of a batch (see the batch list).")
        self.stdout.write(findings_backfill(batch_id, progress=lambda said: self.stdout.write(f"  {said}")))
