import sys
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from batches.importer import parse_rows
from batches.models import Batch, Collection
from batches.services import media_import
from chowda_site.startup import refuse_unknown_redis


class Command(BaseCommand):
    help = (
        "Import media files from a list of GUIDs or a CSV file with the columns guid, location and mime. "
        "If any line is invalid, nothing is imported and every invalid line is reported."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="The file to read, or - for standard input.")
        parser.add_argument(
            "--csv",
            action="store_true",
            help="Read the input as CSV (default: if the file name ends with .csv "
            "or the first line names a guid column).",
        )
        for kind in ("batch", "collection"):
            parser.add_argument(
                f"--{kind}", metavar="NAME", help=f"Add the files to this {kind}; it is created if none has this name."
            )

    def handle(self, *args, file: str, csv: bool, batch: str | None, collection: str | None, **options):
        if file == "-":
            text = sys.stdin.read()
        else:
            try:
                text = Path(file).read_text(encoding="utf-8-sig")
            except (OSError, UnicodeDecodeError) as error:
                raise CommandError(f"Cannot read {file}: {error}.") from None
        rows = parse_rows(text, filename=file, as_csv=csv)

        existing_batch = None
        if batch:
            named = list(Batch.objects.filter(name=batch)[:2])
            if len(named) > 1:
                raise CommandError(f"Several batches are named {batch!r}: rename one of them, or choose another name.")
            existing_batch = named[0] if named else None
        existing_collection = Collection.objects.filter(name=collection).first() if collection else None
        if settings.THUMBNAILS_ON_IMPORT:  # each new file's thumbnail is queued
            refuse_unknown_redis("manage.py import_media", CommandError)

        result = media_import(
            rows,
            batch=existing_batch,
            new_batch_name=None if existing_batch else batch,
            collection=existing_collection,
            new_collection_name=None if existing_collection else collection,
        )
        if result.errors:
            for error in result.errors:
                self.stderr.write(error.reason if error.line is None else f"line {error.line}: {error.reason}")
            raise CommandError(result.sentence)
        self.stdout.write(result.sentence)
