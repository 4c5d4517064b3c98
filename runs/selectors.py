"""Reads about runs: which to start, retry or cancel, and how many are in each status, per batch.

Each returns a queryset (or plain data) and writes nothing; services, events, pages and the API
build on them.
"""

from collections.abc import Iterator

from django.db.models import Count, Exists, IntegerField, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

from batches.models import Batch, MediaFile
from runs.models import ACTIVE_STATUSES, RUN_STATUSES, Run, Status


def chunks(ids: list[int], size: int = 500) -> Iterator[list[int]]:
    """Slices of a list of ids small enough for one query's parameters on every database."""
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def files_to_start(batch: Batch) -> QuerySet[MediaFile]:
    """The batch's media files that have no pending, queued, running or succeeded run in it."""
    busy_or_done = (
        Run.objects.current()
        .filter(batch=batch)
        .filter(media_file=OuterRef("pk"), status__in=[*ACTIVE_STATUSES, Status.SUCCEEDED])
    )
    return batch.media_files.filter(~Exists(busy_or_done))


def runs_to_retry(batch: Batch) -> QuerySet[Run]:
    return Run.objects.current().filter(batch=batch).filter(status__in=[Status.FAILED, Status.CANCELLED])


def runs_to_cancel(batch: Batch) -> QuerySet[Run]:
    return Run.objects.current().filter(batch=batch).filter(status__in=ACTIVE_STATUSES)


def batch_counts(batch_id: int) -> dict[str, int]:
    """How many of the batch's latest runs are in each status."""
    counted = dict(
        Run.objects.current().filter(batch_id=batch_id).order_by().values_list("status").annotate(n=Count("*"))
    )
    return {status.value: counted.get(status.value, 0) for status in RUN_STATUSES}


def with_run_counts(batches: QuerySet[Batch]) -> QuerySet[Batch]:
    """Annotate ``media_count`` and ``runs_<status>`` for every run status, in one query.

    Correlated subqueries rather than joins: joining files and runs would multiply rows.
    """

    def count(queryset):
        counted = queryset.order_by().values("batch").annotate(n=Count("*")).values("n")
        return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))

    through = Batch.media_files.through
    annotations = {"media_count": count(through.objects.filter(batch=OuterRef("pk")))}
    for status in RUN_STATUSES:
        annotations[f"runs_{status}"] = count(Run.objects.current().filter(batch=OuterRef("pk"), status=status))
    return batches.annotate(**annotations)


def with_progress(batches: QuerySet[Batch], progress: str) -> QuerySet[Batch]:
    """Batches whose runs are in one state: ``new``, ``active``, ``failed`` or ``finished``.

    Raises ValueError for any other ``progress``.
    """
    runs = Run.objects.current().filter(batch=OuterRef("pk"))
    active = Exists(runs.filter(status__in=ACTIVE_STATUSES))
    failed = Exists(runs.filter(status__in=[Status.FAILED, Status.CANCELLED]))
    if progress == "new":
        return batches.filter(~Exists(runs))
    if progress == "active":
        return batches.filter(active)
    if progress == "failed":
        return batches.filter(failed, ~active)
    if progress == "finished":
        return batches.filter(Exists(runs), ~active, ~failed)
    raise ValueError(f"unknown progress {progress!r}")
