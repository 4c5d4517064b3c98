"""What the live pages show, as JSON-ready dicts: the same data renders the page and answers a snapshot.

Every function here makes a fixed number of queries, however many files the batch has.
"""

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

from django.core.paginator import Paginator
from django.db.models import Count, Max, Min, OuterRef, Subquery
from django.urls import reverse
from django.utils import timezone

from batches.models import Batch
from clams_apps.metadata import identifier_label, split_identifier
from clams_apps.models import ClamsApp
from runs.estimates import Expectations
from runs.events import current_seq, step_state
from runs.models import ACTIVE_STATUSES, Run, Status, StepRun
from runs.progress import MAX_ASKED, progress_path, reported_progress
from runs.selectors import batch_counts

PAGE_SIZE = 50
FOUND_NOTHING = (
    "The app succeeded but found nothing: it added no annotation, though its input had what it reads. An app built "
    "for an older MMIF version than it was sent does this too: check the pipeline's warnings, then the file."
)
NOT_STARTED = "not_started"
ROW_FILTERS = [NOT_STARTED, *(s.value for s in Status if s != Status.SKIPPED)]


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def batch_columns(batch: Batch) -> list[dict]:
    """One column per pipeline step: position, app name and id, and what an estimate of the step depends on."""
    if batch.pipeline_id:
        steps = batch.pipeline.steps.select_related("app").order_by("position")
        return [
            {
                "position": s.position,
                "app": s.app.name,
                "app_id": s.app_id,
                "version": str(s.app.metadata.get("app_version") or ""),
                "parameters": s.parameters,
                "endpoint": s.app.endpoint,
                "progress_path": progress_path(s.app.metadata),
            }
            for s in steps
        ]
    snapshot = Run.objects.filter(batch=batch).order_by("-pk").values_list("pipeline_snapshot", flat=True).first() or []
    return [
        {
            "position": s["position"],
            "app": s["app_name"],
            "app_id": s["app_id"],
            "version": "",
            "parameters": s.get("parameters", {}),
            "endpoint": s.get("endpoint", ""),
            "progress_path": None,
        }
        for s in snapshot
    ]


def _expected_seconds(expectations: Expectations, column: dict) -> float | None:
    expected = expectations.expected(column["app_id"], column["version"], column["parameters"])
    return expected.seconds if expected else None


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
    paginator = Paginator(files.values("pk", "guid", "location", "duration", "run_id"), PAGE_SIZE)
    current = paginator.get_page(page)
    run_ids = [row["run_id"] for row in current.object_list if row["run_id"]]
    runs = {run.pk: run for run in Run.objects.filter(pk__in=run_ids)}
    steps: dict[int, dict] = {}
    for step in StepRun.objects.filter(run_id__in=run_ids).order_by("position"):
        steps.setdefault(step.run_id, {})[str(step.position)] = step_state(step)
    expectations = Expectations(c["app_id"] for c in columns)
    expected = {str(c["position"]): _expected_seconds(expectations, c) for c in columns}
    _expect_per_file(expectations, columns, current.object_list, steps)
    _ask_apps(columns, current.object_list, steps)
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
                    "input": run.input_origin,
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
        "columns": [
            {"position": c["position"], "app": c["app"], "expected": expected[str(c["position"])]} for c in columns
        ],
        "batch_counts": counts,
        "total_files": total,
        "rows": rows,
        "page": current.number,
        "num_pages": paginator.num_pages,
        "status_filter": status or "",
        **_timing(batch, columns, counts, total, expectations),
    }


def _expect_per_file(expectations: Expectations, columns: list[dict], rows, steps: dict[int, dict]) -> None:
    """Running steps of files whose media length is known get their own ``expected`` (per second of media)."""
    by_position = {str(c["position"]): c for c in columns}
    for row in rows:
        if not row["duration"]:
            continue
        for position, step in steps.get(row["run_id"], {}).items():
            column = by_position.get(position)
            if column is None or step["status"] != Status.RUNNING:
                continue
            expected = expectations.expected(
                column["app_id"], column["version"], column["parameters"], media_seconds=row["duration"]
            )
            if expected is not None:
                step["expected"] = expected.seconds


def _ask_apps(columns: list[dict], rows, steps: dict[int, dict]) -> None:
    """Add what the apps that report progress say about the page's running steps (``reported``).

    The apps are asked at once, so a slow one delays the page by one timeout, not by one per step.
    """
    by_position = {str(c["position"]): c for c in columns if c["progress_path"]}
    asks = []
    for row in rows:
        for position, step in steps.get(row["run_id"], {}).items():
            column = by_position.get(position)
            if column is not None and step["status"] == Status.RUNNING:
                asks.append((step, column["endpoint"], column["progress_path"], row["location"]))
    asks = asks[:MAX_ASKED]
    if not asks:
        return
    with ThreadPoolExecutor(max_workers=len(asks)) as pool:
        answers = pool.map(lambda ask: reported_progress(*ask[1:]), asks)
        for (step, *_), answer in zip(asks, answers, strict=True):
            step["reported"] = answer


def _timing(batch: Batch, columns: list[dict], counts: dict[str, int], total: int, expectations: Expectations) -> dict:
    """Elapsed time, and an estimate of the time left from each app's recent successful steps (runs/estimates.py)."""
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
    expected = {c["position"]: _expected_seconds(expectations, c) for c in columns if remaining[c["position"]]}
    estimate = None
    if active and all(seconds is not None for seconds in expected.values()):
        limits = dict(
            ClamsApp.objects.filter(pk__in=[c["app_id"] for c in columns]).values_list("pk", "max_concurrency")
        )
        estimate = sum(
            remaining[c["position"]] * expected[c["position"]] / max(1, limits.get(c["app_id"], 1))
            for c in columns
            if remaining[c["position"]]
        )
    return {
        "elapsed": elapsed,
        "estimate": estimate,
        "started_at": _iso(span["start"]),
        "finished_at": _iso(span["end"]),
    }


def run_parameters(run: Run) -> list[dict]:
    """Each step's parameters as the run used them, the pipeline's own apart from those overridden at start."""
    rows = []
    for step in run.pipeline_snapshot:
        overrides = step.get("overrides", {})
        own = step.get("pipeline_parameters", step.get("parameters", {}))
        rows.append(
            {
                "position": step["position"],
                "app": step["app_name"],
                "pipeline": {name: value for name, value in own.items() if name not in overrides},
                "overrides": [
                    {"name": name, "value": value, "replaced": name in own, "was": own.get(name)}
                    for name, value in overrides.items()
                ],
            }
        )
    return rows


def run_snapshot(run: Run) -> dict:
    """A run and all its steps, with links to their MMIF and what each app added."""
    run = Run.objects.select_related("media_file", "batch").get(pk=run.pk)
    steps = []
    run_steps = list(run.steps.select_related("app").order_by("position"))
    expectations = Expectations(step.app_id for step in run_steps)
    for step in run_steps:
        links = {
            kind: reverse("runs:step_mmif", args=[run.pk, step.position, kind])
            for kind, stored in [("input", step.input_mmif), ("output", step.output_mmif), ("error", step.error_mmif)]
            if stored
        }
        metadata = step.app.metadata if step.app else {}
        views = view_names(step.summary.get("views", []), metadata)
        expected = expectations.expected(
            step.app_id,
            step.app_version or str(metadata.get("app_version") or ""),
            step.parameters,
            media_seconds=run.media_file.duration,
        )
        reported = None
        path = progress_path(metadata)
        if step.status == Status.RUNNING and path and step.app.endpoint:
            reported = reported_progress(step.app.endpoint, path, run.media_file.location)
        steps.append(
            {
                **step_state(step),
                "stack_trace": step.stack_trace,
                "log_tail": step.log_tail,
                "links": links,
                "views": views,
                "notice": FOUND_NOTHING if step.summary.get("found_nothing") else "",
                "expected": expected.seconds if expected else None,
                "expected_basis": expected.basis if expected else None,
                "reported": reported,
            }
        )
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


def view_names(views: list[dict], metadata: dict) -> list[dict]:
    """The views of a step's summary, each with the ``name`` to show for its app: the name in the step's app
    metadata when the view is that app's (whatever the versions), else the short name in its identifier."""
    own = split_identifier(str(metadata.get("identifier") or ""))[0]
    name = str(metadata.get("name") or "")
    return [
        {
            **view,
            "name": name
            if name and split_identifier(view.get("app", ""))[0] == own
            else identifier_label(view.get("app", "")) or "an app without an identifier",
        }
        for view in views
    ]


def filter_choices() -> list[tuple[str, str]]:
    return [("", "all"), (NOT_STARTED, "not started"), *((s, s) for s in ROW_FILTERS[1:])]
