from django.core.management.base import CommandError

from chowda_site.startup import refuse_unknown_redis
from runs.management.commands._batch_command import BatchCommand
from runs.services import RunnerError, batch_retry_failed


class Command(BatchCommand):
    help = (
        "Retry the failed and cancelled runs of a batch, resuming each at the step that did not succeed, with the "
        "pipeline's parameters and the media files as they are now."
    )

    def handle(self, *args, batch, **options):
        batch = self.get_batch(batch)
        refuse_unknown_redis("manage.py retry_batch", CommandError)
        try:
            retried = batch_retry_failed(batch)
        except RunnerError as exc:
            raise CommandError(f"Batch '{batch.name}': {exc}") from None
        self.stdout.write(f"Batch '{batch.name}': {retried.sentence}")
