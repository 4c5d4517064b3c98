from pathlib import Path

from django.core.files import File
from django.core.management.base import CommandError

from runs.inputs import InputsError, batch_inputs_upload
from runs.management.commands._batch_command import BatchCommand


class Command(BatchCommand):
    help = (
        "Store MMIF made elsewhere as the inputs a batch's files start from: one <GUID>.mmif file, or a zip of them. "
        "All or nothing."
    )

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("file", help="A <GUID>.mmif (or .json) file, or a zip of them.")

    def handle(self, *args, batch, file, **options):
        batch = self.get_batch(batch)
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"There is no file {file}: give the path of a .mmif file or a zip of them.")
        with path.open("rb") as stream:
            try:
                result = batch_inputs_upload(batch, File(stream, name=path.name))
            except InputsError as exc:
                raise CommandError(str(exc)) from None
        self.stdout.write(result.sentence)
