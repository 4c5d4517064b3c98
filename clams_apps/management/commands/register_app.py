from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from clams_apps.client import AppError
from clams_apps.models import Mode
from clams_apps.services import app_register, app_register_job


class Command(BaseCommand):
    help = (
        "Register a CLAMS app: a web service by its URL (its metadata fetched), or an app run as a job, by the "
        "command that runs its cli.py (--command) or its container image (--kubernetes-image), with its metadata "
        "from --metadata-command or --metadata-file."
    )

    def add_arguments(self, parser):
        parser.add_argument("url", nargs="?", help="A web service's base URL, for example http://localhost:5000/")
        parser.add_argument("--name", default="", help="Defaults to the name the app gives itself.")
        job = parser.add_argument_group("apps run as jobs (docs/apps-as-jobs.md)")
        job.add_argument("--command", default="", help='Run per step on the worker: "python /srv/apps/tagger/cli.py".')
        job.add_argument("--kubernetes-image", default="", help="Run per step as a Kubernetes Job of this image.")
        job.add_argument("--image-command", default="", help='The command in the image (default "python3 cli.py").')
        job.add_argument(
            "--metadata-command", default="", help='Prints the metadata: "python /srv/apps/tagger/metadata.py".'
        )
        job.add_argument("--metadata-file", type=Path, help="A file holding the app's metadata JSON.")
        parser.add_argument("--max-concurrency", type=int, help="Steps run at once, across all workers (default 1).")
        parser.add_argument("--timeout", type=int, help="Seconds one step may take (default 3600).")

    def handle(self, *args, url, name, command, kubernetes_image, image_command, metadata_command, metadata_file, **o):
        fields = {k: o[k] for k in ("max_concurrency", "timeout") if o.get(k) is not None}
        modes = [given for given in (url, command, kubernetes_image) if given]
        if len(modes) != 1:
            raise CommandError(
                "Give exactly one of: the URL of a web service, --command for an app run on the worker, or "
                "--kubernetes-image for an app run as Kubernetes Jobs. Nothing was registered."
            )
        try:
            if url:
                app = app_register(url, name=name, **fields)
            else:
                metadata_json = self._read(metadata_file) if metadata_file else None
                app = app_register_job(
                    Mode.COMMAND if command else Mode.KUBERNETES,
                    name=name,
                    command=command or image_command,
                    image=kubernetes_image,
                    metadata_command=metadata_command,
                    metadata_json=metadata_json,
                    **fields,
                )
        except AppError as exc:
            raise CommandError(f"{exc} Nothing was registered.") from None
        except ValidationError as exc:
            problems = "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in exc.message_dict.items())
            raise CommandError(f"The app cannot be registered: {problems}") from None
        metadata = app.app_metadata
        version = metadata.version or "version unknown"
        self.stdout.write(
            f"Registered {app.name!r} (#{app.pk}) {'run as' if app.is_job else 'at'} {app.where}: "
            f"{metadata.identifier} {version}, "
            f"{len(metadata.parameters)} parameters."
        )

    def _read(self, path: Path) -> bytes:
        try:
            return path.read_bytes()
        except OSError as exc:
            raise CommandError(
                f"Cannot read the metadata file {path}: {exc.strerror}. Nothing was registered."
            ) from None
