from django.core.management.base import BaseCommand, CommandError

from batches.models import MediaFile
from chowda_site.ids import id_number
from chowda_site.text import few, listed
from runs.inputs import InputsError, batch_from_latest, batch_from_runs
from runs.management.commands._batch_command import pipeline_named
from runs.models import Run


class Command(BaseCommand):
    help = (
        "Create a batch whose files start from MMIF made before: the final MMIF of the given runs (--runs), or "
        "each given file's latest successful MMIF (--guids, optionally --from-pipeline). All or nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("--name", required=True, help="The new batch's name.")
        parser.add_argument("--pipeline", required=True, help="The apps still to run (id or exact name).")
        chosen = parser.add_mutually_exclusive_group(required=True)
        chosen.add_argument("--runs", metavar="ID,ID,…", help="Succeeded runs, one per file.")
        chosen.add_argument("--guids", metavar="GUID,GUID,…", help="Media files, by GUID.")
        parser.add_argument("--from-pipeline", help="With --guids: take the latest MMIF of this pipeline only.")

    def handle(self, *args, name, pipeline, runs, guids, from_pipeline, **options):
        pipeline = pipeline_named(pipeline)
        try:
            if runs:
                ids = [id_number(text) for text in listed(runs)]
                if None in ids:
                    raise CommandError(f"--runs {runs!r} is not a list of run ids, such as --runs 12,13.")
                result = batch_from_runs(Run.objects.filter(pk__in=ids), name=name, pipeline=pipeline)
            else:
                wanted = listed(guids)
                files = MediaFile.objects.filter(guid__in=wanted)
                unknown = sorted(set(wanted) - set(files.values_list("guid", flat=True)))
                if unknown:
                    raise CommandError(f"There is no media file {few(unknown)}: import it first.")
                source = pipeline_named(from_pipeline) if from_pipeline else None
                result = batch_from_latest(files, name=name, pipeline=pipeline, from_pipeline=source)
        except InputsError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(result.sentence)
