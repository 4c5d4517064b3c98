"""Where an archive keeps its media (a Sony Ci workspace, an S3 bucket, a JSON feed), its syncs, and schedules."""

import os
import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import models

from batches.models import Collection, MediaFile

# The AAPB's rule, as WGBH's chowda ingests its Sony Ci workspace: the GUID is the name up to the first
# "_", "." or "-dupe" (re.split(r'_|\.|-dupe', name)[0]), for names that start with cpb-aacip-.
DEFAULT_GUID_RULE = r"^(cpb-aacip-.+?)(?:_|\.|-dupe|$)"
SONYCI_API_URL = "https://api.cimediacloud.com"
ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]{0,99}$")


class SourceKind(models.TextChoices):
    SONYCI = "sonyci", "Sony Ci workspace"
    S3 = "s3", "S3 bucket"
    HTTP_FEED = "http_feed", "HTTP JSON feed"


# The environment variables a source's credentials prefix stands for, per kind: (suffix, what it is, required).
CREDENTIALS = {
    SourceKind.SONYCI: [
        ("USERNAME", "Sony Ci user name", True),
        ("PASSWORD", "Sony Ci password", True),
        ("CLIENT_ID", "Sony Ci API client id", True),
        ("CLIENT_SECRET", "Sony Ci API client secret", True),
    ],
    SourceKind.S3: [
        ("ACCESS_KEY_ID", "AWS access key id", False),
        ("SECRET_ACCESS_KEY", "AWS secret access key", False),
    ],
    SourceKind.HTTP_FEED: [("TOKEN", "bearer token sent to the feed", False)],
}


def validate_guid_rule(value: str) -> None:
    try:
        pattern = re.compile(value)
    except re.error as exc:
        raise ValidationError(f"{value!r} is not a regular expression ({exc}): correct it.") from None
    if pattern.groups != 1:
        raise ValidationError(
            f"{value!r} has {pattern.groups} groups; the GUID rule needs exactly one group, the GUID, "
            r"as in ^(cpb-aacip-.+?)(?:_|\.|-dupe|$)."
        )


def validate_env_prefix(value: str) -> None:
    if value and not ENV_NAME.match(value):
        raise ValidationError(
            f"{value!r} is not an environment variable prefix: use capital letters, digits and '_', "
            "as in CHOWDA_SONYCI."
        )


class MediaSource(models.Model):
    """A place media files are listed from; a sync makes each listed item a media file, by GUID."""

    name = models.CharField(max_length=200, unique=True)
    kind = models.CharField(max_length=20, choices=SourceKind.choices)
    enabled = models.BooleanField(default=True, help_text="A disabled source is not synced, by hand or on schedule.")
    # Sony Ci
    workspace_id = models.CharField("Sony Ci workspace id", max_length=100, blank=True)
    api_url = models.CharField(
        "API URL",
        max_length=500,
        blank=True,
        validators=[URLValidator(schemes=["http", "https"])],
        help_text=f"Sony Ci: the API's base URL, blank for {SONYCI_API_URL}. HTTP feed: the feed's first page.",
    )
    # S3
    bucket = models.CharField(max_length=255, blank=True)
    prefix = models.CharField(max_length=1000, blank=True, help_text="S3: only keys that start with this.")
    endpoint_url = models.CharField(
        "endpoint URL",
        max_length=500,
        blank=True,
        validators=[URLValidator(schemes=["http", "https"])],
        help_text="S3: an S3-compatible store's URL; blank for AWS (or CHOWDA_S3_ENDPOINT_URL when set).",
    )
    credentials_env = models.CharField(
        "credentials environment prefix",
        max_length=100,
        blank=True,
        validators=[validate_env_prefix],
        help_text="The prefix of the environment variables that hold the credentials, never the credentials: "
        "CHOWDA_SONYCI means CHOWDA_SONYCI_USERNAME, _PASSWORD, _CLIENT_ID and _CLIENT_SECRET for Sony Ci; "
        "_ACCESS_KEY_ID and _SECRET_ACCESS_KEY for S3 (blank: the worker's own AWS credentials); _TOKEN for a feed.",
    )
    guid_rule = models.CharField(
        "GUID rule",
        max_length=300,
        default=DEFAULT_GUID_RULE,
        validators=[validate_guid_rule],
        help_text="A regular expression with one group, matched against each item's name: the group is the GUID. "
        "Items that do not match are skipped and counted.",
    )
    collection = models.ForeignKey(
        Collection,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="sources",
        help_text="Every file the source lists is added to this collection.",
    )
    # A feed's pages' ETags and "next" links as the last sync read them: {url: [etag, next]}.
    feed_etags = models.JSONField(default=dict, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = "media source"

    def __str__(self) -> str:
        return self.name

    def clean(self):
        required = {
            SourceKind.SONYCI: [("workspace_id", "a Sony Ci source needs its workspace id")],
            SourceKind.S3: [("bucket", "an S3 source needs its bucket")],
            SourceKind.HTTP_FEED: [("api_url", "an HTTP feed source needs the URL of its first page")],
        }.get(self.kind, [])
        errors = {field: f"{why.capitalize()}." for field, why in required if not getattr(self, field)}
        if self.kind == SourceKind.SONYCI and not self.credentials_env:
            errors["credentials_env"] = (
                "A Sony Ci source needs the prefix of its credentials' environment variables, as in CHOWDA_SONYCI."
            )
        if errors:
            raise ValidationError(errors)

    def credential_names(self) -> list[tuple[str, str, bool]]:
        """(environment variable, what it holds, required) for each credential of the source's kind."""
        if not self.credentials_env:
            return []
        return [(f"{self.credentials_env}_{suffix}", what, req) for suffix, what, req in CREDENTIALS.get(self.kind, [])]

    def credentials_status(self) -> list[tuple[str, bool]]:
        """(environment variable, whether it is set) for each credential: all a page ever shows of them."""
        return [(name, bool(os.environ.get(name))) for name, _what, _required in self.credential_names()]

    def credential(self, suffix: str) -> str:
        return os.environ.get(f"{self.credentials_env}_{suffix}", "") if self.credentials_env else ""


class SourceItem(models.Model):
    """A media file as a source lists it: which item it is there, and the sync that saw it last."""

    source = models.ForeignKey(MediaSource, on_delete=models.CASCADE, related_name="items")
    media_file = models.ForeignKey(MediaFile, on_delete=models.CASCADE, related_name="source_items")
    name = models.CharField(max_length=1000, help_text="The item's name (or key) in the source.")
    fingerprint = models.CharField(max_length=200, blank=True, help_text="An ETag, Sony Ci's asset id, a version.")
    size = models.PositiveBigIntegerField(null=True, blank=True)
    page = models.CharField(max_length=1000, blank=True, help_text="A feed's page that listed it.")
    last_seen_sync = models.ForeignKey("SyncRun", null=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["source", "media_file"], name="one_item_per_source_and_file")]
        indexes = [models.Index(fields=["source", "last_seen_sync"])]

    def __str__(self) -> str:
        return f"{self.name} in {self.source_id}"


class SyncStatus(models.TextChoices):
    PENDING = "pending", "Waiting"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


ACTIVE_SYNC_STATUSES = (SyncStatus.PENDING, SyncStatus.RUNNING)


class SyncRun(models.Model):
    """One listing of a source, page by page, made into media files; its counts and first errors."""

    source = models.ForeignKey(MediaSource, on_delete=models.CASCADE, related_name="syncs")
    status = models.CharField(max_length=10, choices=SyncStatus.choices, default=SyncStatus.PENDING)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    trigger = models.CharField(
        max_length=200, help_text="What asked for it: the admin, the API, a command, a schedule."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    # When it last finished a page: a sync done by a command that stopped is known by its silence.
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    pages = models.PositiveIntegerField(default=0)
    seen = models.PositiveIntegerField(default=0)
    new = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    missing = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    errors = models.PositiveIntegerField(default=0)
    skipped_examples = models.JSONField(default=list, blank=True, help_text="The first names skipped, and why.")
    error_messages = models.JSONField(default=list, blank=True, help_text="The first errors, as sentences.")
    sentence = models.TextField(blank=True, help_text="What the sync did, or why it failed.")

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = "sync"
        constraints = [
            # One sync per source at a time: a second request is told one is running.
            models.UniqueConstraint(
                fields=["source"],
                condition=models.Q(status__in=["pending", "running"]),
                name="one_active_sync_per_source",
            )
        ]

    def __str__(self) -> str:
        return f"Sync {self.pk} of {self.source}"


class ScheduleAction(models.TextChoices):
    SYNC = "sync", "Sync a media source"
    START_NEW = "start_new", "Start the new files"


class Schedule(models.Model):
    """Something Chowda does on a cron schedule: sync a source, or start a batch of the files not yet run."""

    name = models.CharField(max_length=200, unique=True)
    cron = models.CharField(
        "cron expression",
        max_length=100,
        help_text="Five fields: minute, hour, day of month, month, day of week; as in '0 2 * * *' (2 a.m. daily).",
    )
    timezone = models.CharField("time zone", max_length=64, default="UTC")
    enabled = models.BooleanField(default=True)
    action = models.CharField(max_length=20, choices=ScheduleAction.choices)
    source = models.ForeignKey(
        MediaSource,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="schedules",
        help_text="Sync: the source to sync. Start: the files of this source, synced first (or give a collection).",
    )
    collection = models.ForeignKey(
        Collection,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="schedules",
        help_text="Start: the files of this collection.",
    )
    pipeline = models.ForeignKey(
        "pipelines.Pipeline",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="schedules",
        help_text="Start: files with no succeeded run of this pipeline go into a new batch that starts.",
    )
    overrides = models.JSONField(
        default=dict,
        blank=True,
        help_text='Start: parameter overrides per step position, as in a pilot: {"1": {"threshold": "0.5"}}.',
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The time the last tick was due: a second beat sending the same tick finds it taken and does nothing.
    last_due = models.DateTimeField(null=True, blank=True, editable=False)
    last_ran_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_outcome = models.TextField(blank=True, editable=False)
    last_sync = models.ForeignKey(SyncRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    last_batch = models.ForeignKey(
        "batches.Batch", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )
    # Its beat entry. (Not PeriodicTask.schedule: that name is beat's own, the schedule it reads.)
    periodic_task = models.OneToOneField(
        "django_celery_beat.PeriodicTask",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        editable=False,
        related_name="chowda_schedule",
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
