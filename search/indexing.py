"""Building the findings index from what each succeeded step added, off the step's path.

A step that succeeds sends ``runs.signals.step_succeeded`` after commit; its handler only writes a background
job row (one INSERT, no read of the MMIF), which the dispatcher's next round sends to the background queue.
The job reads the step's new views with the viewer's streaming reader (findings/reader.py) and writes one
``Finding`` per text and label. A finished run also asks for any of its succeeded steps not indexed yet (a retry
copies its earlier attempt's steps without running them). ``manage.py index_findings`` fills in the rest.
"""

import logging
from dataclasses import dataclass, field

from django.core.files.storage import default_storage
from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from background import kinds
from background.dispatcher import jobs_add
from background.models import BackgroundJob
from clams_apps.metadata import split_identifier
from findings.reader import MmifReadError, ViewTimes, annotation_page, label_of, short_type
from findings.selectors import FindingsError, mmif_summary
from findings.tables import text_of
from runs.models import Status, StepRun
from runs.signals import run_finished, step_succeeded
from search.models import Finding, IndexedStep

logger = logging.getLogger(__name__)

KIND = "search-index"
TIMED = ("TimeFrame", "TimePoint")
BULK = 2000


def connect() -> None:
    kinds.register(kinds.Kind(KIND, index_job, lambda step_id: f"index the findings of step run {step_id}"))
    step_succeeded.connect(step_succeeded_handler, dispatch_uid="search-step-succeeded")
    run_finished.connect(run_finished_handler, dispatch_uid="search-run-finished")


def step_succeeded_handler(sender=None, *, step_id: int, **kwargs) -> None:
    """Record the step's indexing as background work: one row, sent by the dispatcher's next round.

    Never raises: the step has succeeded already, and its finished run asks again for what is missing."""
    try:
        BackgroundJob.objects.bulk_create([BackgroundJob(kind=KIND, target=step_id)], ignore_conflicts=True)
    except DatabaseError as exc:
        logger.warning("Could not record the indexing of step run %s (%s); its run asks again.", step_id, exc)


def run_finished_handler(sender=None, *, run_id: int | None = None, **kwargs) -> None:
    """Index the run's succeeded steps that are not yet (the steps a retry copied never sent ``step_succeeded``)."""
    if run_id is not None:
        jobs_add(KIND, unindexed_steps().filter(run_id=run_id))


def unindexed_steps() -> QuerySet[StepRun]:
    return (
        StepRun.objects.filter(status=Status.SUCCEEDED)
        .exclude(output_mmif="")
        .exclude(pk__in=IndexedStep.objects.values("step_id"))
    )


def index_job(job) -> None:
    step = StepRun.objects.select_related("run__batch").filter(pk=job.target, status=Status.SUCCEEDED).first()
    if step is None:
        return  # deleted with its run or batch while the job waited: nothing to index
    indexed = step_index(step)
    if indexed.problem:
        raise kinds.JobFailed(indexed.problem)


def step_index(step: StepRun) -> IndexedStep:
    """Write the findings of what ``step`` (a succeeded step, with ``run__batch`` loaded) added; once per step.

    Returns its ``IndexedStep``, whose ``problem`` says why its MMIF could not be read, when it could not.
    """
    done = IndexedStep.objects.filter(step=step).first()
    if done is not None:
        return done
    problem = ""
    try:
        found = step_findings(step)
    except FindingsError as exc:
        found, problem = [], f"The findings of step {step.position} of run {step.run_id} were not indexed: {exc}"
    try:
        with transaction.atomic():
            indexed = IndexedStep.objects.create(step=step, findings=len(found), problem=problem)
            Finding.objects.bulk_create(found, batch_size=BULK)
            # The file's attempts that this run's retry replaced are found no more: their steps that succeeded are
            # this run's too. (Left out here, not at every query: a join to runs doubles a broad query's time.)
            Finding.objects.filter(
                batch_id=step.run.batch_id, media_file_id=step.run.media_file_id, run__superseded=True
            ).delete()
    except IntegrityError:  # indexed meanwhile by another job or the backfill, or deleted with its run
        return IndexedStep.objects.filter(step=step).first() or IndexedStep(step=step)
    return indexed


def step_findings(step: StepRun) -> list[Finding]:
    """The findings (unsaved) in the views that ``step`` added to its output MMIF. Raises ``FindingsError``."""
    new_views = [str(view.get("id")) for view in (step.summary or {}).get("views", [])]
    if not new_views or not step.output_mmif:
        return []
    summary = mmif_summary(step.output_mmif.name)
    reading = _Reading(summary)
    try:
        with default_storage.open(step.output_mmif.name, "rb") as stream:
            for view_id in new_views:
                reading.read_view(stream, view_id, new=True)
            for view_id in sorted(reading.other_views_wanted()):
                reading.read_view(stream, view_id, new=False)
    except (MmifReadError, OSError) as exc:
        raise FindingsError(f"Cannot read {step.output_mmif.name}: {exc}") from None
    run = step.run
    common = {
        "step_id": step.pk,
        "run_id": run.pk,
        "batch_id": run.batch_id,
        "media_file_id": run.media_file_id,
        "pipeline_id": run.batch.pipeline_id,
        "app": step.app_name[:200],
        "found_at": step.finished_at or timezone.now(),
    }
    return [Finding(**common, **found) for found in reading.findings()]


@dataclass
class _Reading:
    """What one MMIF's views say: texts, labels, the times of annotations, and the alignments between them."""

    summary: object
    rows: list[dict] = field(default_factory=list)
    times: dict[str, tuple[float | None, float | None]] = field(default_factory=dict)
    token_document: dict[str, str] = field(default_factory=dict)
    alignments: list[tuple[str, str]] = field(default_factory=list)
    read: set[str] = field(default_factory=set)

    def read_view(self, stream, view_id: str, *, new: bool) -> None:
        view = self.summary.view(view_id)
        if view is None or view_id in self.read:
            return
        self.read.add(view_id)
        stream.seek(0)
        annotations = annotation_page(stream, self.summary.views, view_id, 0, view["total"])
        times = ViewTimes(view.get("contains", {}), self.summary.frame_rates)
        version = split_identifier(view.get("app", ""))[1]
        for annotation in annotations:
            properties = annotation.get("properties") or {}
            kind = short_type(annotation.get("@type", ""))
            key = _key(view_id, properties.get("id"))
            if kind == "TimeFrame":
                span = times.seconds(kind, properties, "start"), times.seconds(kind, properties, "end")
            elif kind == "TimePoint":
                point = times.seconds(kind, properties, "timePoint")
                span = point, point
            else:
                span = None
            if span is not None:
                self.times[key] = span
            if not new:
                continue
            if kind == "Alignment":
                self.alignments.append(
                    (_key(view_id, properties.get("source")), _key(view_id, properties.get("target")))
                )
            elif kind == "Token" and properties.get("document"):
                self.token_document[key] = _key(view_id, properties["document"])
            row = {"view_id": view_id[:100], "annotation_id": str(properties.get("id", ""))[:100]}
            row.update(annotation_type=kind, app_version=version[:100], key=key)
            if kind == "TextDocument" and text_of(properties).strip():
                self.rows.append({**row, "kind": Finding.TEXT, "text": text_of(properties)})
            elif kind in TIMED and label_of(properties) is not None:
                start, end = span
                self.rows.append({**row, "kind": Finding.LABEL, "label": label_of(properties)[:200], **_at(start, end)})

    def other_views_wanted(self) -> set[str]:
        """Views outside the step's own that its alignments point into (an OCR text aligned to a TimePoint of
        the view before it), to read their times."""
        return {ref.split(":", 1)[0] for pair in self.alignments for ref in pair if ref not in self.times} - self.read

    def findings(self) -> list[dict]:
        spans: dict[str, list[float]] = {}
        for source, target in self.alignments:
            for text, other in ((source, target), (target, source)):
                span = self.times.get(other)
                if span is None or span[0] is None:
                    continue
                text = self.token_document.get(text, text)
                start, end = span[0], span[1] if span[1] is not None else span[0]
                known = spans.get(text)
                spans[text] = [min(known[0], start), max(known[1], end)] if known else [start, end]
        found = []
        for row in self.rows:
            key = row.pop("key")
            if row["kind"] == Finding.TEXT and key in spans:
                row.update(_at(*spans[key]))
            found.append(row)
        return found


def _key(view_id: str, reference) -> str:
    """An annotation's id as other views name it: ``v1:tf3`` (ids already long stay as they are)."""
    reference = str(reference or "")
    return reference if ":" in reference else f"{view_id}:{reference}"


def _at(start: float | None, end: float | None) -> dict:
    return {"start": start, "end": end if end is not None else start}


def findings_backfill(batch_id: int | None = None, *, chunk: int = 200, progress=None) -> str:
    """Index every succeeded step (of batch ``batch_id``, when given) not indexed yet, oldest first, and say how
    many. Each step is committed as it is indexed, so a backfill stopped halfway resumes where it stopped."""
    steps = unindexed_steps().select_related("run__batch").order_by("pk")
    if batch_id is not None:
        steps = steps.filter(run__batch_id=batch_id)
    indexed = findings = problems = 0
    last = 0
    while True:
        page = list(steps.filter(pk__gt=last)[:chunk])
        if not page:
            break
        for step in page:
            done = step_index(step)
            indexed, findings = indexed + 1, findings + done.findings
            if done.problem:
                problems += 1
                if progress:
                    progress(done.problem)
        last = page[-1].pk
        if progress:
            progress(f"{indexed} steps indexed, {findings} findings so far")
    unread = f"; {problems} could not be read (said above)" if problems else ""
    return f"Indexed {indexed} step(s) with {findings} finding(s){unread}."
