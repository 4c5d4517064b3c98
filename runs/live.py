"""What the live pages show, as JSON-ready dicts: the same data renders the page and answers a snapshot.

Every function here makes a fixed number of queries, however many files the batch has.
"""

import statistics
from datetime import datetime

from django.core.paginator import Paginator
from django.db.models import Count, Max, Min, OuterRef, Subquery
from django.urls import reverse
from django.utils import timezone

from batches.models import Batch
from clams_apps.models import ClamsApp
from runs.events import current_seq, step_state
from runs.models import ACTIVE_STATUSES, Run, Status, StepRun
from runs.selectors import batch_counts

PAGE_SIZE = 50
HISTORY = 50  # recent successful steps per app that the estimate is taken from
NOT_STARTED = "not_started"
ROW_FILTERS = [NOT_STARTED, *(s.value for s in Status if s != Status.SKIPPED)]


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def batch_columns(batch: Batch) -> list[dict]:
    """One column per pipeline step: position, app name and app id."""
    if batch.pipeline_id:
        steps = batch.pipeline.steps.select_related("app").order_by("position")
        return [{"position": s.position, "app": s.app.name, "app_id": s.app_id} for s in steps]
    snapshot = Run.objects.filter(batch=batch).order_by("-pk").values_list("pipeline_snapshot", flat=True).first() or []
    return [{"position": s["position"], "app": s["app_name"], "app_id": s["app_id"]} for s in snapshot]


def page_number(value) -> int:
    """The page a person asked for; 1 for anything that is not a page number (past the last means the last)."""
    text = str(value or "")
    # Python refuses to read a number of more than 4,300 digits; no batch has that many pages anyway.
    if not (text.isascii() and text.isdigit()) or len(text) > 18:
        return 1
    return int(text)


def batch_snapshot(batch: Batch, *, page: int = 1, status: str | None = None) -> dict:
    """Header figures and one page of rows (a media file each, with its latest run's steps)."""
    seq = current_seq(batch.pk)  # first: whatever is read below is at least this recent
    columns = batch_columns(batch)
    latest = Run.objects.current().filter(batch=batch, media_file=OuterRef("pk")).order_by("-pk")
    files = batch.media_files.annotate(
        run_id=Subquery(latest.values("pk")[:1]), run_status=Subquery(latest.values("status")[:1])
    ).order_by("guid")
    if status == NOT_STARTED:
        files = files.filter(run_id__isnull=True)
    elif status in ROW_FILTERS:
        files = files.filter(run_status=status)
    paginator = Paginator(files.values("pk", "guid", "run_id"), PAGE_SIZE)
    current = paginator.get_page(page)
    run_ids = [row["run_id"] for row in current.object_list if row["run_id"]]
    runs = {run.pk: run for run in Run.objects.filter(pk__in=run_ids)}
    steps: dict[int, dict] = {}
    for step in StepRun.objects.filter(run_id__in=run_ids).order_by("position"):
        steps.setdefault(step.run_id, {})[str(step.position)] = step_state(step)
    rows = []
    for row in current.object_list:
        run = runs.get(row["run_id"])
        rows.append(
            {
                "media_file": row["pk"],
                "guid": row["guid"],
                "run": None
                if run is None
                else {
                    "id": run.pk,
                    "status": run.status,
                    "attempt": run.attempt,
                    "error": run.error,
                    "url": reverse("runs:run_live", args=[run.pk]),
                },
                "steps": steps.get(run.pk, {}) if run else {},
            }
        )
    counts = batch_counts(batch.pk)
    total = batch.media_files.count()
    return {
        "type": "snapshot",
        "seq": seq,
        "batch": batch.pk,
        "columns": [{"position": c["position"], "app": c["app"]} for c in columns],
        "batch_counts": counts,
        "total_files": total,
        "rows": rows,
        "page": current.number,
        "num_pages": paginator.num_pages,
        "status_filter": status or "",
        **_timing(batch, columns, counts, total),
    }


def _timing(batch: Batch, columns: list[dict], counts: dict[str, int], total: int) -> dict:
    """Elapsed time, and an estimate of the time left from each app's recent successful steps."""
    latest = Run.objects.current().filter(batch=batch)
    span = latest.aggregate(start=Min("started_at"), end=Max("finished_at"))
    active = sum(counts.get(status, 0) for status in ACTIVE_STATUSES)
    elapsed = None
    if span["start"]:
        end = timezone.now() if active or not span["end"] else span["end"]
        elapsed = max(0.0, (end - span["start"]).total_seconds())

    not_started = total - sum(counts.values())
    waiting = dict(
        StepRun.objects.filter(run__in=latest.filter(status__in=ACTIVE_STATUSES), status__in=ACTIVE_STATUSES)
        .values_list("position")
        .annotate(n=Count("*"))
        .order_by()
    )
    remaining = {c["position"]: waiting.get(c["position"], 0) + not_started for c in columns}
    medians = _median_durations({c["app_id"] for c in columns if remaining[c["position"]]})
    estimate = None
    if active and all(c["app_id"] in medians for c in columns if remaining[c["position"]]):
        limits = dict(ClamsApp.objects.filter(pk__in=medians).values_list("pk", "max_concurrency"))
        estimate = sum(
            remaining[c["position"]] * medians[c["app_id"]] / max(1, limits.get(c["app_id"], 1))
            for c in columns
            if remaining[c["position"]]
        )
    return {
        "elapsed": elapsed,
        "estimate": estimate,
        "started_at": _iso(span["start"]),
        "finished_at": _iso(span["end"]),
    }


def _median_durations(app_ids: set[int]) -> dict[int, float]:
    """The median duration of each app's last successful steps (apps with no history are left out)."""
    if not app_ids:
        return {}
    durations: dict[int, list[float]] = {}
    recent = (
        StepRun.objects.filter(app_id__in=app_ids, status=Status.SUCCEEDED, duration__isnull=False)
        .order_by("-finished_at")
        .values_list("app_id", "duration")[: HISTORY * len(app_ids)]
    )
    for app_id, duration in recent:
        if len(durations.setdefault(app_id, [])) < HISTORY:
            durations[app_id].append(duration)
    return {app_id: statistics.median(values) for app_id, values in durations.items()}


def run_snapshot(run: Run) -> dict:
    """A run and all its steps, with links to their MMIF and what each app added."""
    run = Run.objects.select_related("media_file", "batch").get(pk=run.pk)
    steps = []
    for step in run.steps.order_by("position"):
        links = {
            kind: reverse("runs:step_mmif", args=[run.pk, step.position, kind])
            for kind, stored in [("input", step.input_mmif), ("output", step.output_mmif), ("error", step.error_mmif)]
            if stored
        }
        views = step.summary.get("views", [])
        steps.append({**step_state(step), "stack_trace": step.stack_trace, "links": links, "views": views})
    return {
        "type": "snapshot",
        "seq": current_seq(run.batch_id),
        "run": run.pk,
        "batch": run.batch_id,
        "batch_name": run.batch.name,
        "guid": run.media_file.guid,
        "status": run.status,
        "attempt": run.attempt,
        "error": run.error,
        "created_at": _iso(run.created_at),
        "started_at": _iso(run.started_at),
        "finished_at": _iso(run.finished_at),
        "final_mmif": reverse("runs:run_mmif", args=[run.pk]) if run.final_mmif else None,
        "steps": steps,
    }


def filter_choices() -> list[tuple[str, str]]:
    return [("", "all"), (NOT_STARTED, "not started"), *((s, s) for s in ROW_FILTERS[1:])]
