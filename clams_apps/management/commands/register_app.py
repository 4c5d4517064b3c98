from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from clams_apps.client import AppError
from clams_apps.services import app_register


class Command(BaseCommand):
    help = "Register a CLAMS app by its URL, fetching its metadata."

    def add_arguments(self, parser):
        parser.add_argument("url", help="The app's base URL, for example http://localhost:5000/")
        parser.add_argument("--name", default="", help="Defaults to the name the app gives itself.")

    def handle(self, *args, url, name, **options):
        try:
            app = app_register(url, name=name)
        except AppError as exc:
            raise CommandError(f"{exc} Nothing was registered.") from None
        except ValidationError as exc:
            problems = "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in exc.message_dict.items())
            raise CommandError(f"The app cannot be registered: {problems}") from None
        metadata = app.app_metadata
        version = metadata.version or "version unknown"
        self.stdout.write(
            f"Registered {app.name!r} (#{app.pk}) at {app.endpoint}: {metadata.identifier} {version}, "
            f"{len(metadata.parameters)} parameters."
        )
