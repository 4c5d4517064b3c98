from django.db import models


class MmifSummary(models.Model):
    """What one stored MMIF holds, read once by streaming (findings/reader.py) and kept for the viewer.

    Stored MMIF are never rewritten under the same name; the size guards against one that was.
    """

    name = models.CharField(max_length=500, unique=True, help_text="The stored MMIF's name in Django's storage.")
    size = models.BigIntegerField()
    documents = models.JSONField(default=list)
    views = models.JSONField(default=list)
    frame_rates = models.JSONField(default=dict)
    duration = models.FloatField(null=True, blank=True, help_text="Seconds of media the TimeFrames cover.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "MMIF summary"
        verbose_name_plural = "MMIF summaries"

    def __str__(self) -> str:
        return self.name

    def view(self, view_id: str) -> dict | None:
        return next((view for view in self.views if view["id"] == view_id), None)
