from django.core.management.base import CommandError

from chowda_site.startup import refuse_unknown_redis
from runs.management.commands._batch_command import BatchCommand
from runs.services import batch_retry_failed


class Command(BatchCommand):
    help = "Retry the failed and cancelled runs of a batch, resuming each at the step that did not succeed."

    def handle(self, *args, batch, **options):
        batch = self.get_batch(batch)
        refuse_unknown_redis("manage.py retry_batch", CommandError)
        self.stdout.write(f"Batch '{batch.name}': {batch_retry_failed(batch).sentence}")
