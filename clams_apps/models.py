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


class ClamsApp(models.Model):
    """A CLAMS app: an HTTP service that takes MMIF and answers it with new views."""

    name = models.CharField(max_length=200, unique=True)
    endpoint = models.URLField(
        max_length=500,
        unique=True,
        validators=[URLValidator(schemes=["http", "https"])],
        help_text="The app's base URL, for example http://whisper.example.org:5000/",
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

    def __str__(self) -> str:
        return self.name

    def clean(self):
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
