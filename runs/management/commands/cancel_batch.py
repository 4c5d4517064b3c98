from runs.management.commands._batch_command import BatchCommand
from runs.services import batch_cancel


class Command(BatchCommand):
    help = "Cancel the queued and running runs of a batch."

    def handle(self, *args, batch, **options):
        batch = self.get_batch(batch)
        self.stdout.write(f"Batch '{batch.name}': {batch_cancel(batch).sentence}")
