from django.db import models

from clams_apps.models import ClamsApp


class Pipeline(models.Model):
    """An ordered list of CLAMS apps, each with its own parameters."""

    name = models.CharField(max_length=200, unique=True)
    description = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class PipelineStep(models.Model):
    pipeline = models.ForeignKey(Pipeline, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveSmallIntegerField(help_text="Steps run in increasing order of position.")
    app = models.ForeignKey(ClamsApp, on_delete=models.PROTECT, related_name="pipeline_steps")
    parameters = models.JSONField(
        default=dict,
        blank=True,
        help_text='A JSON object of runtime parameters, for example {"threshold": 0.5, "labels": {"a": "b"}}.',
    )

    class Meta:
        ordering = ["pipeline", "position"]
        constraints = [
            models.UniqueConstraint(fields=["pipeline", "position"], name="unique_step_position_per_pipeline"),
        ]

    def __str__(self) -> str:
        return f"{self.position}. {self.app}"
