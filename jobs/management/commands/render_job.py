import json

from django.core.management.base import BaseCommand, CommandError

from clams_apps.models import ClamsApp, Mode
from jobs.kubernetes import build_manifest
from jobs.specs import job_spec

# Ids no run has: the manifest is for review, and for `kubectl apply --dry-run=server` by an operator.
PLACEHOLDER_RUN, PLACEHOLDER_DISPATCH = 0, 0


class Command(BaseCommand):
    help = (
        "Print, without a cluster, the Kubernetes Job a step of a Kubernetes app would create (placeholder run "
        "ids; the pipeline step's parameters when --parameters gives them), as YAML-compatible JSON."
    )

    def add_arguments(self, parser):
        parser.add_argument("app", help="The app's name.")
        parser.add_argument("--position", type=int, default=1, help="The step's position (default 1).")
        parser.add_argument("--parameters", default="{}", help='The step\'s parameters as JSON: {"threshold": 0.1}.')

    def handle(self, *args, app, position, parameters, **options):
        found = ClamsApp.objects.filter(name=app).first()
        if found is None:
            names = ", ".join(ClamsApp.objects.filter(mode=Mode.KUBERNETES).values_list("name", flat=True))
            raise CommandError(f"No app is named {app!r}. Kubernetes apps: {names or 'none yet'}.")
        if found.mode != Mode.KUBERNETES:
            raise CommandError(f"App {app!r} runs as {found.get_mode_display().lower()}, not as Kubernetes Jobs.")
        try:
            values = json.loads(parameters)
        except ValueError as exc:
            raise CommandError(
                f'--parameters is not JSON ({exc}); give an object such as {{"threshold": 0.1}}.'
            ) from None
        if not isinstance(values, dict):
            raise CommandError('--parameters must be a JSON object, such as {"threshold": 0.1}.')
        spec = job_spec(
            found, run_id=PLACEHOLDER_RUN, position=position, dispatch=PLACEHOLDER_DISPATCH, parameters=values
        )
        self.stdout.write(json.dumps(build_manifest(spec), indent=2))
