from django.core.management.base import CommandError

from runs.management.commands._batch_command import BatchCommand
from runs.services import RunnerError, batch_start


class Command(BatchCommand):
    help = "Start the runs of a batch: every file without a queued, running or succeeded run."

    def handle(self, *args, batch, **options):
        batch = self.get_batch(batch)
        try:
            result = batch_start(batch)
        except RunnerError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"Batch '{batch.name}': {result.sentence}")
        for guid in result.without_input:
            self.stderr.write(f"{guid}: not started, the input batch has no successful output for it.")
