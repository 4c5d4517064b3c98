import os
import secrets
from pathlib import Path

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from batches.models import Batch, Collection, DocumentType, MediaFile
from clams_apps.client import AppError
from clams_apps.models import ClamsApp
from clams_apps.services import app_refresh_metadata, app_register
from demo_apps.media import write_demo_media
from pipelines.models import Pipeline, PipelineStep

PIPELINE = "Demo: sound and silence"
COLLECTION = "Demo media"
BATCH = "Demo batch"


class Command(BaseCommand):
    help = (
        "Create the demo data once: an admin and a curator, the demo CLAMS apps, a pipeline, demo media and a "
        "batch ready to start. Running it again changes nothing (an app that moved gets its new URL)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--segmenter-url", required=True)
        parser.add_argument("--summarizer-url", required=True)
        parser.add_argument("--media-dir", type=Path, required=True, help="Where the demo WAV files are written.")

    def handle(self, *args, segmenter_url, summarizer_url, media_dir, **options):
        paths = write_demo_media(media_dir.resolve())
        try:
            with transaction.atomic():
                admin = self._user("admin", "CHOWDA_ADMIN_PASSWORD", superuser=True)
                self._user("curator", "CHOWDA_CURATOR_PASSWORD", group="Curators")
                segmenter = self._app("Demo segmenter", segmenter_url)
                summarizer = self._app("Demo summarizer", summarizer_url)
                pipeline = self._pipeline(segmenter, summarizer)
                files = self._media(paths)
                self._batch(pipeline, files, admin)
        except AppError as exc:
            raise CommandError(f"{exc} Start the demo apps first (make demo does).") from None

    def _user(self, username: str, password_variable: str, *, superuser=False, group=None):
        User = get_user_model()
        user = User.objects.filter(username=username).first()
        if user:
            self.stdout.write(
                f"  user {username!r} exists; its password is unchanged "
                f"(reset it with: python manage.py changepassword {username})"
            )
            return user
        password = os.environ.get(password_variable) or secrets.token_urlsafe(12)
        user = User.objects.create_user(
            username, password=password, is_staff=True, is_superuser=superuser, email=f"{username}@localhost"
        )
        if group:
            user.groups.add(Group.objects.get(name=group))
        shown = f"${password_variable}" if os.environ.get(password_variable) else password
        self.stdout.write(f"  user {username!r} created with password {shown}")
        return user

    def _app(self, name: str, url: str) -> ClamsApp:
        app = ClamsApp.objects.filter(name=name).first()
        if app is None:
            return app_register(url, name=name, max_concurrency=4, timeout=300)
        if app.endpoint != url:
            app.endpoint = url
            app.save(update_fields=["endpoint", "updated_at"])
            app_refresh_metadata(app)
        return app

    def _pipeline(self, segmenter: ClamsApp, summarizer: ClamsApp) -> Pipeline:
        pipeline, created = Pipeline.objects.get_or_create(
            name=PIPELINE,
            defaults={"description": "Finds stretches of sound and silence in audio, then summarises them."},
        )
        if created:
            PipelineStep.objects.create(
                pipeline=pipeline, position=1, app=segmenter, parameters={"threshold": 0.02, "minDuration": 0.2}
            )
            PipelineStep.objects.create(pipeline=pipeline, position=2, app=summarizer, parameters={})
        return pipeline

    def _media(self, paths: list[Path]) -> list[MediaFile]:
        collection, _ = Collection.objects.get_or_create(
            name=COLLECTION, defaults={"description": "Generated WAV files, one of them deliberately unreadable."}
        )
        files = []
        for path in paths:
            media, _ = MediaFile.objects.get_or_create(
                guid=f"demo-{path.stem}",
                defaults={"location": path.as_uri(), "mime_type": "audio/wav", "document_type": DocumentType.AUDIO},
            )
            files.append(media)
        collection.media_files.add(*files)
        return files

    def _batch(self, pipeline: Pipeline, files: list[MediaFile], admin) -> None:
        batch, created = Batch.objects.get_or_create(
            name=BATCH,
            defaults={
                "pipeline": pipeline,
                "created_by": admin,
                "description": "Press Start on its live page and watch every file go through both apps.",
            },
        )
        if created:
            batch.media_files.add(*files)
        self.stdout.write(f"  demo batch {batch.name!r} (#{batch.pk}) with {batch.media_files.count()} files")
