from django.core.management.base import BaseCommand, CommandError

from batches.models import MediaFile
from pipelines.models import Pipeline
from runs.inputs import InputsError, batch_from_latest, batch_from_runs
from runs.models import Run


def _pipeline(ref: str) -> Pipeline:
    found = Pipeline.objects.filter(pk=int(ref)) if ref.isdigit() else Pipeline.objects.filter(name=ref)
    pipeline = found.first()
    if pipeline is None:
        raise CommandError(f"There is no pipeline {ref!r}: give a pipeline id or its exact name.")
    return pipeline


def _list(text: str) -> list[str]:
    return list(dict.fromkeys(text.replace(",", " ").split()))


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
        pipeline = _pipeline(pipeline)
        try:
            if runs:
                ids = _list(runs)
                if not all(i.isdigit() for i in ids):
                    raise CommandError(f"--runs {runs!r} is not a list of run ids, such as --runs 12,13.")
                result = batch_from_runs(Run.objects.filter(pk__in=[int(i) for i in ids]), name=name, pipeline=pipeline)
            else:
                listed = _list(guids)
                files = MediaFile.objects.filter(guid__in=listed)
                unknown = sorted(set(listed) - set(files.values_list("guid", flat=True)))
                if unknown:
                    raise CommandError(f"There is no media file {', '.join(unknown[:10])}: import it first.")
                source = _pipeline(from_pipeline) if from_pipeline else None
                result = batch_from_latest(files, name=name, pipeline=pipeline, from_pipeline=source)
        except InputsError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(result.sentence)
