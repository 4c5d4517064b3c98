from django.core.management.base import BaseCommand, CommandError

from batches.models import Batch
from chowda_site.ids import id_number
from pipelines.models import Pipeline


def pipeline_named(ref: str) -> Pipeline:
    """The pipeline a command line names by id or exact name; a CommandError that says so when there is none."""
    number = id_number(ref)
    pipeline = (Pipeline.objects.filter(pk=number) if number else Pipeline.objects.filter(name=ref)).first()
    if pipeline is None:
        raise CommandError(f"There is no pipeline {ref!r}: give a pipeline id or its exact name.")
    return pipeline


class BatchCommand(BaseCommand):
    """A command that acts on one batch, named by id or by name."""

    def add_arguments(self, parser):
        parser.add_argument("batch", help="The batch's id or its exact name.")

    def get_batch(self, ref: str) -> Batch:
        number = id_number(ref)
        batches = Batch.objects.filter(pk=number) if number else Batch.objects.filter(name=ref)
        found = list(batches[:2])
        if not found:
            raise CommandError(f"There is no batch {ref!r}: give a batch id or its exact name.")
        if len(found) > 1:
            raise CommandError(f"Several batches are named {ref!r}: give the id of the one you mean.")
        return found[0]
