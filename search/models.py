"""The findings index: one row per text or label that a succeeded step added, searchable across the archive.

On PostgreSQL the row's words are a stored ``tsvector`` (a generated column with an explicit text search
configuration, so it is immutable) under a GIN index. On SQLite that column holds nothing; an FTS5 table
(migration 0002) kept by triggers holds the words instead. search/queries.py asks whichever the database has.
"""

from django.contrib.postgres.search import SearchVector, SearchVectorField
from django.db import models

from batches.models import Batch, MediaFile
from pipelines.models import Pipeline
from runs.models import Run, StepRun

# The text search configuration of the stored vector and of every query: the same one, or words do not meet.
CONFIG = "english"


class Words(SearchVector):
    """The row's words for PostgreSQL's full text search; NULL on SQLite, whose FTS5 table holds them."""

    def as_sqlite(self, compiler, connection, **extra_context):
        return "NULL", []


class Finding(models.Model):
    """A TextDocument's text, or a TimeFrame's or TimePoint's label, with where and when it was found.

    It goes with its step: a deleted run or batch takes its findings with it (the foreign keys cascade).
    """

    TEXT, LABEL = "text", "label"

    step = models.ForeignKey(StepRun, on_delete=models.CASCADE, related_name="+")
    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="+")
    batch = models.ForeignKey(Batch, on_delete=models.CASCADE, related_name="+")
    media_file = models.ForeignKey(MediaFile, on_delete=models.CASCADE, related_name="+")
    pipeline = models.ForeignKey(Pipeline, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    kind = models.CharField(max_length=5, choices=[(TEXT, "text"), (LABEL, "label")])
    annotation_type = models.CharField(max_length=50, help_text="TextDocument, TimeFrame or TimePoint.")
    app = models.CharField(max_length=200, help_text="The app's name as the step knew it.")
    app_version = models.CharField(max_length=100, blank=True)
    view_id = models.CharField(max_length=100)
    annotation_id = models.CharField(max_length=100)
    label = models.CharField(max_length=200, blank=True)
    text = models.TextField(blank=True)
    start = models.FloatField(null=True, blank=True, help_text="Seconds into the media, when the MMIF says.")
    end = models.FloatField(null=True, blank=True)
    found_at = models.DateTimeField(help_text="When the step that found it finished.")
    words = models.GeneratedField(
        expression=Words("label", "text", config=CONFIG),
        output_field=SearchVectorField(null=True),
        db_persist=True,
    )

    class Meta:
        indexes = [
            # Covering the file and the run, so a label in a time range (of final MMIF only, or not) is counted and
            # grouped by file from the index alone (PostgreSQL; SQLite makes it without the included columns).
            models.Index(fields=["label", "start"], include=["media_file", "run"], name="search_finding_label_start"),
            models.Index(fields=["media_file", "start"]),
            models.Index(fields=["batch"]),
            models.Index(fields=["app"]),
            models.Index(fields=["found_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.annotation_type} {self.annotation_id} of step {self.step_id}"


class IndexedStep(models.Model):
    """A step whose findings are in the index: what resumes a backfill and keeps a step from being read twice."""

    step = models.OneToOneField(StepRun, on_delete=models.CASCADE, primary_key=True, related_name="+")
    findings = models.PositiveIntegerField(default=0)
    problem = models.TextField(blank=True, help_text="Why the step's MMIF could not be read, when it could not.")
    indexed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "indexed step"

    def __str__(self) -> str:
        return f"step run {self.step_id}: {self.findings} findings"
