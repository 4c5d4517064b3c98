from django.core.management.base import CommandError

from chowda_site.startup import refuse_unknown_redis
from runs.management.commands._batch_command import BatchCommand
from runs.services import batch_cancel


class Command(BatchCommand):
    help = "Cancel the queued and running runs of a batch."

    def handle(self, *args, batch, **options):
        batch = self.get_batch(batch)
        refuse_unknown_redis("manage.py cancel_batch", CommandError)
        self.stdout.write(f"Batch '{batch.name}': {batch_cancel(batch).sentence}")
