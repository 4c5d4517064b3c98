from django.db import models


class JobStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


ACTIVE_JOB_STATUSES = (JobStatus.PENDING, JobStatus.QUEUED, JobStatus.RUNNING)
IN_FLIGHT_JOB_STATUSES = (JobStatus.QUEUED, JobStatus.RUNNING)


class BackgroundJob(models.Model):
    """One piece of background work (a thumbnail, a duration probe, a sync…): a row, sent to the background
    queue in a bounded window by the dispatcher (background/dispatcher.py), never a message per row."""

    kind = models.CharField(max_length=50, help_text="What to do, such as 'thumbnail' (background/kinds.py).")
    target = models.PositiveBigIntegerField(help_text="The id of what it works on (a media file for a thumbnail).")
    arguments = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=JobStatus.choices, default=JobStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    # Every sending takes the next number, which its task carries: a task of an older sending does nothing.
    dispatches = models.PositiveIntegerField(default=0)
    # A pending job is not sent before this; a queued or running one past it was lost and is sent again.
    not_before = models.DateTimeField(null=True, blank=True)
    deadline = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)
    # What a long job has done so far, in a curator's words ("page 12: 1,200 items").
    progress = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["status", "not_before"]), models.Index(fields=["kind", "target"])]
        constraints = [
            # One active job per kind and target: asking twice (two imports, two clicks) does the work once.
            models.UniqueConstraint(
                fields=["kind", "target"],
                condition=models.Q(status__in=["pending", "queued", "running"]),
                name="one_active_job_per_kind_and_target",
            )
        ]
        verbose_name = "background job"

    def __str__(self) -> str:
        return f"{self.kind} of {self.target} ({self.status})"
