import re
from urllib.parse import unquote, urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from batches import locations

GUID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:\-]{0,254}$")


def validate_guid(value: str) -> None:
    if not GUID_PATTERN.match(value or ""):
        raise ValidationError(
            "%(value)r is not a valid GUID: use letters, digits, '.', '_', ':' or '-' "
            "(starting with a letter or digit, at most 255 characters).",
            params={"value": value},
        )


def validate_location(value: str) -> None:
    parts = urlsplit(value or "")
    if "\x00" in value or "\x00" in unquote(parts.path):
        raise ValidationError(
            "%(value)r contains a NUL character (written \\x00 or %%00), which no file name or URL may hold: "
            "correct the location.",
            params={"value": value},
        )
    if parts.scheme == "file":
        if not parts.path.startswith("/"):
            raise ValidationError(
                "%(value)r is not a valid file location: write an absolute path, as in file:///media/guid.mp4.",
                params={"value": value},
            )
    elif parts.scheme in ("http", "https"):
        if not parts.netloc:
            raise ValidationError("%(value)r has no host name.", params={"value": value})
    elif parts.scheme == "s3":
        if not parts.netloc or not parts.path.strip("/"):
            raise ValidationError(
                "%(value)r is not a valid S3 location: write the bucket and the key, as in s3://archive/guid.mp4.",
                params={"value": value},
            )
    elif (scheme := locations.scheme_of(value)) is not None:
        problem = scheme.check(value)
        if problem:
            raise ValidationError(problem)
    else:
        kinds = ["file://", "http://", "https://", "s3://", *(f"{name}://" for name in locations.registered())]
        raise ValidationError(
            "%(value)r is not a location the apps can read: use a " + f"{', '.join(kinds[:-1])} or {kinds[-1]} URI.",
            params={"value": value},
        )


class DocumentType(models.TextChoices):
    VIDEO = "video", "Video"
    AUDIO = "audio", "Audio"
    IMAGE = "image", "Image"
    TEXT = "text", "Text"

    @classmethod
    def for_mime(cls, mime: str) -> "DocumentType | None":
        """The document type a MIME type stands for (``video/mp4`` → video), or None."""
        major = (mime or "").split("/", 1)[0].strip().lower()
        return cls(major) if major in cls.values else None


class MediaFile(models.Model):
    guid = models.CharField("GUID", max_length=255, unique=True, validators=[validate_guid])
    location = models.CharField(
        max_length=1000,
        validators=[validate_location],
        help_text="A file://, http(s)://, s3:// or sonyci:// URI; Chowda stages it for apps that cannot read it there.",
    )
    mime_type = models.CharField("MIME type", max_length=100)
    document_type = models.CharField(max_length=10, choices=DocumentType)
    duration = models.FloatField(
        null=True,
        blank=True,
        help_text="Seconds of audio or video, when known: a step's expected time is then per second of media.",
    )
    thumbnail = models.FileField(
        max_length=500, blank=True, editable=False, help_text="A small still, or a waveform strip for audio."
    )
    missing_since = models.DateTimeField(
        null=True,
        blank=True,
        editable=False,
        db_index=True,
        help_text="When a sync of its media source last found it gone; empty while the source lists it.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["guid"]

    def __str__(self) -> str:
        return self.guid

    def clean(self):
        if self.mime_type and self.document_type:
            expected = DocumentType.for_mime(self.mime_type)
            if expected and expected != self.document_type:
                message = f"MIME type {self.mime_type} is {expected.label.lower()}, not {self.document_type}."
                raise ValidationError({"document_type": message})


class Collection(models.Model):
    """A named set of media files, for example one donation or one series."""

    name = models.CharField(max_length=200, unique=True)
    description = models.TextField(blank=True)
    media_files = models.ManyToManyField(MediaFile, related_name="collections", blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Batch(models.Model):
    """Media files to run through one pipeline."""

    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    pipeline = models.ForeignKey(
        "pipelines.Pipeline", on_delete=models.SET_NULL, null=True, blank=True, related_name="batches"
    )
    media_files = models.ManyToManyField(MediaFile, related_name="batches", blank=True)
    input_batch = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="derived_batches",
        help_text="Start from the output MMIF of this batch instead of from the media files.",
    )
    input_pipeline = models.ForeignKey(
        "pipelines.Pipeline",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="Start each file from its latest successful MMIF of this pipeline, in any batch, instead of from "
        "the media file.",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # Notifications (reports/notifications.py): to the person who created the batch, and to a webhook.
    notify_failures_over = models.PositiveIntegerField(
        "notify when failures pass",
        null=True,
        blank=True,
        help_text="Send a notification once more than this many files have failed. Empty: only when it finishes.",
    )
    webhook_url = models.URLField(
        "webhook URL",
        max_length=1000,
        blank=True,
        help_text="Chowda POSTs a signed JSON body here when the batch finishes or its failures pass the limit.",
    )
    # Set by one conditional UPDATE each, so a notification goes out once however many workers see the moment.
    finished_notified_at = models.DateTimeField(null=True, blank=True, editable=False)
    failures_notified_at = models.DateTimeField(null=True, blank=True, editable=False)
    webhook_problem = models.TextField(blank=True, editable=False, help_text="Why the last webhook call failed.")

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "batches"
        permissions = [("run_batch", "Can start, cancel and retry batches")]

    def __str__(self) -> str:
        return self.name

    def clean(self):
        if self.input_batch_id and self.input_batch_id == self.pk:
            raise ValidationError({"input_batch": "A batch cannot start from its own output."})
        if self.input_batch_id and self.input_pipeline_id:
            raise ValidationError(
                {
                    "input_pipeline": "A batch starts from an input batch or from an input pipeline's latest "
                    "MMIF, not both: clear one of them."
                }
            )
