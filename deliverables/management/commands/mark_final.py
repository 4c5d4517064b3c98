from django.core.management.base import CommandError

from deliverables.services import DeliverablesError, batch_mark_final
from runs.management.commands._batch_command import BatchCommand


class Command(BatchCommand):
    help = "Mark each file's latest successful run of a batch as its final MMIF of the batch's pipeline."

    def handle(self, *args, batch, **options):
        batch = self.get_batch(batch)
        try:
            result = batch_mark_final(batch, None)
        except DeliverablesError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"Batch '{batch.name}': {result.sentence}")
