"""The active batches, with progress and an estimate of the time left, for the admin's first page.

A fixed number of queries however many batches are active: the batches with their counts, the
steps still to run per batch and app, the pipelines' steps (for files not started yet), the apps'
concurrency and their recent durations (runs/estimates.py, the live page's model too).
"""

from dataclasses import dataclass

from django.db.models import Count

from batches.models import Batch
from clams_apps.models import ClamsApp
from pipelines.models import PipelineStep
from runs.estimates import Expectations
from runs.models import ACTIVE_STATUSES, RUN_STATUSES, Run, Status, StepRun
from runs.selectors import with_progress, with_run_counts

SHOWN = 10


@dataclass
class ActiveBatch:
    batch: Batch
    total: int
    counts: dict[str, int]
    estimate: float | None

    @property
    def finished(self) -> int:
        return sum(self.counts[s] for s in (Status.SUCCEEDED, Status.FAILED, Status.CANCELLED))

    def percent(self, status: str) -> float:
        return 100 * self.counts[status] / self.total if self.total else 0

    @property
    def bars(self) -> list[tuple[str, float]]:
        return [(s, self.percent(s)) for s in (Status.SUCCEEDED, Status.FAILED, Status.CANCELLED, Status.RUNNING)]


def active_batches(limit: int = SHOWN) -> tuple[list[ActiveBatch], int]:
    """Up to ``limit`` active batches, newest first, and how many are active in all."""
    active = with_progress(Batch.objects.all(), "active")
    total_active = active.count()
    batches = list(with_run_counts(active.select_related("pipeline")).order_by("-created_at", "-pk")[:limit])
    if not batches:
        return [], total_active
    ids = [b.pk for b in batches]
    remaining: dict[int, dict[tuple, int]] = {}
    for batch_id, app_id, version, n in (
        StepRun.objects.filter(
            run__in=Run.objects.current().filter(batch_id__in=ids, status__in=ACTIVE_STATUSES),
            status__in=ACTIVE_STATUSES,
        )
        .order_by()
        .values_list("run__batch_id", "app_id", "app__metadata__app_version")
        .annotate(n=Count("*"))
    ):
        key = (app_id, version or "")
        remaining.setdefault(batch_id, {})[key] = remaining.setdefault(batch_id, {}).get(key, 0) + n
    pipeline_steps: dict[int, list] = {}
    for step in PipelineStep.objects.filter(pipeline_id__in={b.pipeline_id for b in batches if b.pipeline_id}):
        pipeline_steps.setdefault(step.pipeline_id, []).append(step.app_id)
    app_ids = {app_id for per_app in remaining.values() for app_id, _v in per_app} | {
        a for steps in pipeline_steps.values() for a in steps
    }
    limits = dict(ClamsApp.objects.filter(pk__in=app_ids).values_list("pk", "max_concurrency"))
    expectations = Expectations(app_ids)
    shown = []
    for batch in batches:
        counts = {status.value: getattr(batch, f"runs_{status}") for status in RUN_STATUSES}
        not_started = batch.media_count - sum(counts.values())
        work = dict(remaining.get(batch.pk, {}))
        for app_id in pipeline_steps.get(batch.pipeline_id, []) if not_started > 0 else []:
            work[(app_id, None)] = work.get((app_id, None), 0) + not_started
        estimate = 0.0
        for (app_id, version), n in work.items():
            expected = expectations.expected(app_id, version or "")
            if expected is None:
                estimate = None
                break
            estimate += n * expected.seconds / max(1, limits.get(app_id, 1))
        shown.append(ActiveBatch(batch, batch.media_count, counts, estimate if work else None))
    return shown, total_active
