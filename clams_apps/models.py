from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator, URLValidator
from django.db import models
from django.utils.functional import cached_property

from clams_apps.metadata import AppMetadata, NotClamsMetadata


class Health(models.TextChoices):
    UNKNOWN = "unknown", "Unknown"
    OK = "ok", "OK"
    UNREACHABLE = "unreachable", "Unreachable"


def validate_timeout(value: int) -> None:
    if value > settings.MAX_APP_TIMEOUT:
        raise ValidationError(
            f"The timeout cannot exceed {settings.MAX_APP_TIMEOUT} seconds (CHOWDA_MAX_APP_TIMEOUT): "
            "Celery would deliver a longer step twice. Raise CHOWDA_MAX_APP_TIMEOUT on every worker first."
        )


class MediaAccess(models.TextChoices):
    """How an app reads a media file (runs/staging.py stages the file for the last two)."""

    DIRECT = "direct", "Reads the location directly"
    MEDIA_ROOT = "media_root", "Reads under a media root"
    LOCAL = "local", "Needs a local file"


class Mode(models.TextChoices):
    """How Chowda runs the app for a step (jobs/ runs the last two)."""

    SERVICE = "service", "A web service (always up)"
    COMMAND = "command", "A command run per step on the worker"
    KUBERNETES = "kubernetes", "A Kubernetes Job per step"


JOB_MODES = (Mode.COMMAND, Mode.KUBERNETES)


class ClamsApp(models.Model):
    """A CLAMS app: a web service that takes MMIF and answers it with new views, or the same app run as a job
    (its ``cli.py``) once per step, on the worker or as a Kubernetes Job."""

    name = models.CharField(max_length=200, unique=True)
    mode = models.CharField(max_length=20, choices=Mode, default=Mode.SERVICE)
    endpoint = models.URLField(
        max_length=500,
        unique=True,
        null=True,
        blank=True,
        validators=[URLValidator(schemes=["http", "https"])],
        help_text="The app's base URL, for example http://whisper.example.org:5000/ (web services only).",
    )
    command = models.CharField(
        max_length=1000,
        blank=True,
        help_text="The command that runs the app's cli.py, for example `python /srv/apps/tagger/cli.py` or "
        "`docker run --rm -i -v /data:/data IMAGE python cli.py`; Chowda adds the parameters as flags, then `--` "
        "and the input and output MMIF. For a Kubernetes app, the command inside the image (default "
        "`python3 cli.py`).",
    )
    metadata_command = models.CharField(
        max_length=1000,
        blank=True,
        help_text="The command that prints the app's metadata JSON, for example `python /srv/apps/tagger/metadata.py` "
        "(run on the worker's machine). Leave empty to paste the metadata instead.",
    )
    image = models.CharField(max_length=500, blank=True, help_text="The container image of a Kubernetes app.")
    namespace = models.CharField(
        max_length=63,
        blank=True,
        help_text="The Kubernetes namespace of its Jobs (default: CHOWDA_KUBERNETES_NAMESPACE).",
    )
    service_account = models.CharField(max_length=253, blank=True, help_text="The service account its Jobs run as.")
    gpus = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        help_text="GPUs each Job asks for; empty: one if the app's metadata estimates GPU memory, else none.",
    )
    memory = models.CharField(
        max_length=20, blank=True, help_text="Memory each Job asks for (and may use), for example 8Gi."
    )
    node_selector = models.JSONField(
        default=dict, blank=True, help_text='Node labels its Jobs need, for example {"gpu": "a100"}.'
    )
    tolerations = models.JSONField(
        default=list,
        blank=True,
        help_text='Taints its Jobs tolerate, as Kubernetes writes them: [{"key": "gpu", "operator": "Exists"}].',
    )
    description = models.TextField(blank=True)
    metadata = models.JSONField(default=dict, blank=True, editable=False, help_text="What the app answers to GET /.")
    metadata_fetched_at = models.DateTimeField(null=True, blank=True, editable=False)
    health = models.CharField(max_length=20, choices=Health, default=Health.UNKNOWN, editable=False)
    health_checked_at = models.DateTimeField(null=True, blank=True, editable=False)
    max_concurrency = models.PositiveIntegerField(
        default=1,
        validators=[MinValueValidator(1)],
        help_text="How many requests Chowda sends this app at once, across all workers.",
    )
    timeout = models.PositiveIntegerField(
        default=3600,
        validators=[MinValueValidator(1), validate_timeout],
        help_text="Seconds to wait for the app to answer one MMIF.",
    )
    timeout_grace = models.PositiveIntegerField(
        default=300,
        help_text="A CLAMS app cannot be told to stop: after Chowda gives up on a request (timeout), the app "
        "goes on working on it, so its slot stays taken this many seconds more.",
    )
    media_access = models.CharField(
        max_length=20,
        choices=MediaAccess,
        default=MediaAccess.DIRECT,
        help_text="Directly: the app reads file:// and http(s):// locations as they are. Under a media root: "
        "the app sees Chowda's scratch folder at its media root, so every file is staged there. Needs a local "
        "file: anything not file:// is staged into the scratch folder first.",
    )
    media_root = models.CharField(
        max_length=500,
        blank=True,
        help_text="Where the app sees Chowda's scratch folder (CHOWDA_SCRATCH_ROOT), for example /data; "
        "used when it reads under a media root.",
    )
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = "CLAMS app"
        permissions = [
            ("set_app_runner", "Can set the command or container image a CLAMS app runs"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_job(self) -> bool:
        return self.mode in JOB_MODES

    @property
    def where(self) -> str:
        """Where the app runs, in a sentence's words: its URL, its command or its image."""
        if self.mode == Mode.COMMAND:
            return f"command `{self.command}`"
        if self.mode == Mode.KUBERNETES:
            return f"image {self.image}"
        return self.endpoint or ""

    def clean(self):
        self.endpoint = self.endpoint or None  # several job apps have none; unique allows many NULLs
        if self.mode == Mode.SERVICE and not self.endpoint:
            raise ValidationError({"endpoint": "Give the URL of the app's web service."})
        if self.mode == Mode.COMMAND and not self.command.strip():
            raise ValidationError({"command": "Give the command that runs the app's cli.py."})
        if self.mode == Mode.KUBERNETES and not self.image.strip():
            raise ValidationError({"image": "Give the container image the app's Jobs run."})
        if not isinstance(self.node_selector, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in self.node_selector.items()
        ):
            raise ValidationError({"node_selector": 'Give node labels as a JSON object of strings: {"gpu": "a100"}.'})
        if not isinstance(self.tolerations, list) or not all(isinstance(t, dict) for t in self.tolerations):
            raise ValidationError(
                {"tolerations": 'Give tolerations as a JSON list of objects: [{"key": "gpu", "operator": "Exists"}].'}
            )
        if self.media_access == MediaAccess.MEDIA_ROOT and not self.media_root.startswith("/"):
            raise ValidationError(
                {"media_root": "Give the absolute path where the app sees Chowda's scratch folder, for example /data."}
            )

    @cached_property
    def app_metadata(self) -> AppMetadata | None:
        """The parsed metadata, or None if it was never fetched (or no longer parses)."""
        if not self.metadata:
            return None
        try:
            return AppMetadata.from_json(self.metadata)
        except NotClamsMetadata:
            return None

    def refresh_from_db(self, *args, **kwargs):
        self.__dict__.pop("app_metadata", None)
        super().refresh_from_db(*args, **kwargs)
