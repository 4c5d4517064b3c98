from django.conf import settings
from django.db import models

from batches.models import Batch, MediaFile
from pipelines.models import Pipeline
from runs.models import Run


class FinalMmif(models.Model):
    """The run whose MMIF a curator accepted as a media file's final result of a pipeline: one per file and
    pipeline; marking another run replaces it."""

    media_file = models.ForeignKey(MediaFile, on_delete=models.CASCADE, related_name="final_mmifs")
    pipeline = models.ForeignKey(Pipeline, on_delete=models.CASCADE, related_name="+")
    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="+")
    marked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    marked_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["media_file__guid", "pipeline__name"]
        constraints = [
            models.UniqueConstraint(fields=["media_file", "pipeline"], name="one_final_mmif_per_file_and_pipeline")
        ]
        verbose_name = "final MMIF"
        verbose_name_plural = "final MMIF"

    def __str__(self) -> str:
        return f"{self.media_file} ({self.pipeline})"


class Delivery(models.Model):
    """One copy of a batch's final MMIF and deliverables to a destination, with what failed per file."""

    batch = models.ForeignKey(Batch, on_delete=models.CASCADE, related_name="deliveries")
    destination = models.CharField(max_length=100, help_text="The name of the destination the operator configured.")
    target = models.CharField(max_length=1000, help_text="Where the files went: a folder, or s3://bucket/prefix.")
    kinds = models.JSONField(default=list, help_text="The deliverables sent besides the final MMIF.")
    delivered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    delivered_at = models.DateTimeField(auto_now_add=True, help_text="When the delivery was asked for.")
    # Empty while a worker is still copying the files.
    finished_at = models.DateTimeField(null=True, blank=True)
    files_delivered = models.PositiveIntegerField(default=0)
    # One {"guid": ..., "problem": sentence} per file that was not delivered.
    failures = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-delivered_at", "-id"]
        verbose_name_plural = "deliveries"

    def __str__(self) -> str:
        return f"{self.batch} to {self.destination} at {self.delivered_at:%Y-%m-%d %H:%M}"
