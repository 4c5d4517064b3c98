from django.conf import settings
from django.db import models

from batches.models import Batch, MediaFile
from clams_apps.models import ClamsApp


class Status(models.TextChoices):
    # A run waits for the dispatcher (pending), is sent to the queue (queued), then runs. Steps use
    # "queued" for every step still to run: whether its run was sent is the run's status.
    PENDING = "pending", "Pending"
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"
    SKIPPED = "skipped", "Skipped"


RUN_STATUSES = [s for s in Status if s != Status.SKIPPED]
STEP_STATUSES = [s for s in Status if s != Status.PENDING]
ACTIVE_STATUSES = (Status.PENDING, Status.QUEUED, Status.RUNNING)
# Sent to the queue: the dispatcher's window counts these.
IN_FLIGHT_STATUSES = (Status.QUEUED, Status.RUNNING)
FINISHED_STATUSES = (Status.SUCCEEDED, Status.FAILED, Status.CANCELLED, Status.SKIPPED)


class RunQuerySet(models.QuerySet):
    def current(self) -> "RunQuerySet":
        """Each file's latest attempt: a retried or restarted run is kept for history but no longer counts."""
        return self.filter(superseded=False)


class Run(models.Model):
    """One media file through one pipeline within one batch."""

    batch = models.ForeignKey(Batch, on_delete=models.CASCADE, related_name="runs")
    media_file = models.ForeignKey(MediaFile, on_delete=models.PROTECT, related_name="runs")
    status = models.CharField(max_length=10, choices=[(s.value, s.label) for s in RUN_STATUSES], default=Status.PENDING)
    attempt = models.PositiveSmallIntegerField(default=1)
    retry_of = models.OneToOneField("self", on_delete=models.SET_NULL, null=True, blank=True, related_name="retried_by")
    # True once a later run of the same file in the same batch replaces this one; counts ignore it.
    superseded = models.BooleanField(default=False)
    # The pipeline's steps and parameters when the run started: editing a pipeline never changes history.
    pipeline_snapshot = models.JSONField(default=list, blank=True)
    source_mmif = models.FileField(max_length=500, blank=True)
    final_mmif = models.FileField(max_length=500, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # The dispatcher's bookkeeping (docs/operating.md, "How runs are dispatched"): every sending of the
    # run's chain takes the next number, and a task carrying an older one is dropped; the worker that
    # took the run; when it was sent, and under which Redis epoch (a Redis that lost its data has a new one).
    dispatches = models.PositiveIntegerField(default=0)
    dispatched_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    sent_epoch = models.CharField(max_length=32, blank=True)
    worker = models.CharField(max_length=200, blank=True)
    # A pending run waiting to try its app again (it was busy or answered 503) is not sent before this.
    not_before = models.DateTimeField(null=True, blank=True)
    # The app of the first step it has still to run, while it is pending: the dispatcher sends it when that app
    # has room (runs/dispatcher.py).
    next_app = models.ForeignKey(ClamsApp, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    # The staged copy of its media file as the apps see it (runs/staging.py), when it has one: its MMIF always
    # names the media file's own location, and each step swaps this in on the way to the app and back.
    staged_as = models.CharField(max_length=1000, blank=True)
    # Where its source MMIF came from, in a curator's words: "a blank MMIF of the media file",
    # "run #12 of batch 'Whisper pass'", "uploaded cpb-aacip-1.mmif".
    input_origin = models.CharField(max_length=300, blank=True)

    objects = RunQuerySet.as_manager()

    class Meta:
        ordering = ["batch", "media_file__guid", "attempt"]
        indexes = [
            models.Index(fields=["batch", "superseded", "status"]),
            models.Index(fields=["status", "batch"]),
            # The dispatcher's question: which batches have runs waiting for this app, and the oldest of each.
            models.Index(fields=["status", "next_app", "batch", "id"], name="runs_waiting_for_app"),
        ]

    def __str__(self) -> str:
        return f"{self.media_file} in {self.batch} (attempt {self.attempt})"


class BatchInput(models.Model):
    """The MMIF one file of a batch starts from, chosen from an earlier run or uploaded: a batch that has any
    starts each file from its own, never from a blank MMIF, so no app is paid twice for the same output."""

    batch = models.ForeignKey(Batch, on_delete=models.CASCADE, related_name="inputs")
    media_file = models.ForeignKey(MediaFile, on_delete=models.CASCADE, related_name="batch_inputs")
    mmif = models.FileField(max_length=500)
    origin = models.CharField(max_length=300)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["batch", "media_file"], name="one_input_per_file_per_batch")]
        verbose_name = "batch input"

    def __str__(self) -> str:
        return f"{self.media_file} in {self.batch}: {self.origin}"


class StepRunQuerySet(models.QuerySet):
    def ran(self) -> "StepRunQuerySet":
        """Leave out the copies a retry keeps of its earlier attempt's succeeded steps (same position, same
        output MMIF in the run it retries): each app call then counts once in statistics and estimates."""
        copied = StepRun.objects.filter(
            run=models.OuterRef("run__retry_of"),
            position=models.OuterRef("position"),
            output_mmif=models.OuterRef("output_mmif"),
        )
        return self.exclude(models.Exists(copied))


class StepRun(models.Model):
    """One app call within a run."""

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveSmallIntegerField()
    app = models.ForeignKey(ClamsApp, on_delete=models.SET_NULL, null=True, related_name="step_runs")
    app_name = models.CharField(max_length=200, help_text="The app's name when the run started.")
    # The app's version (its metadata's app_version) when the step began: statistics and estimates are per version.
    app_version = models.CharField(max_length=100, blank=True)
    parameters = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=[(s.value, s.label) for s in STEP_STATUSES], default=Status.QUEUED)
    attempts = models.PositiveSmallIntegerField(default=0)
    # How often the step's worker stopped while the app was working on it (the step was then sent again).
    interruptions = models.PositiveSmallIntegerField(default=0)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    duration = models.FloatField(null=True, blank=True, help_text="Seconds the app took to answer.")
    http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    error_message = models.TextField(blank=True)
    # Failed before its app was called: the media file could not be fetched into the scratch folder. Not the
    # app's failure, so app statistics count it apart.
    staging_failed = models.BooleanField(default=False)
    stack_trace = models.TextField(blank=True)
    # A job app's (clams_apps.models.Mode): the last lines of its stderr or its pod's log, kept when it failed;
    # what its job is doing now ("Pending: pulling the image"); the Kubernetes Job it runs as, set while it runs
    # so that the step sent again after its worker stopped adopts that Job instead of starting a second one.
    log_tail = models.TextField(blank=True)
    job_state = models.CharField(max_length=300, blank=True)
    job_name = models.CharField(max_length=63, blank=True)
    input_mmif = models.FileField(max_length=500, blank=True)
    output_mmif = models.FileField(max_length=500, blank=True)
    error_mmif = models.FileField(max_length=500, blank=True)
    # What the app added: views with their app, annotation types and counts, warnings.
    summary = models.JSONField(default=dict, blank=True)

    objects = StepRunQuerySet.as_manager()

    class Meta:
        ordering = ["run", "position"]
        constraints = [
            models.UniqueConstraint(fields=["run", "position"], name="unique_step_position_per_run"),
        ]
        verbose_name = "step run"
        indexes = [models.Index(fields=["app", "status", "finished_at"])]

    def __str__(self) -> str:
        return f"step {self.position} ({self.app_name}) of {self.run}"


class Worker(models.Model):
    """A Celery worker process, alive while it writes ``seen_at``; the runs it took are given back when it stops."""

    name = models.CharField(max_length=200, unique=True)
    started_at = models.DateTimeField(auto_now_add=True)
    seen_at = models.DateTimeField()
    # What the worker held at its last heartbeat: [run id, dispatch number] of every step task it was running
    # or had reserved; ``reports`` counts the heartbeats that said so. Recovery gives back a run marked queued
    # or running that no worker holds (runs/dispatcher.py, ``unheld``).
    holding = models.JSONField(default=list, blank=True)
    reports = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return self.name
