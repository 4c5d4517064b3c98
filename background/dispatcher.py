"""Background work as rows: recorded in the database, sent to its own queue in a bounded window.

The same contract as runs (runs/dispatcher.py): the database is the record of what is to do, the
broker carries only a window of it. ``jobs_add`` writes pending rows (an import of 100,000 files
writes 100,000 rows in one statement and sends nothing per file); ``send_jobs`` sends pending jobs
to the ``<prefix>-background`` queue while fewer than CHOWDA_BACKGROUND_WINDOW are queued or running,
so background work never stands in front of a run's step and never holds more than that many
worker threads. Every worker's dispatcher round (runs/workers.py) calls ``background_round``, which
also sends again the jobs whose worker or message was lost (their deadline passed).
"""

import contextlib
import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone
from redis.exceptions import LockError

from background import kinds
from background.models import IN_FLIGHT_JOB_STATUSES, BackgroundJob, JobStatus
from chowda_site.celery import app as celery_app
from chowda_site.insert_select import insert_select
from chowda_site.redis_client import key, redis_client

logger = logging.getLogger(__name__)

TASK = "background.run_job"
# A job sent but not begun within this long was lost with its message (a Redis restart): sent again.
UNSTARTED_AFTER = timedelta(minutes=10)


def jobs_add(kind: str, targets: QuerySet, *, arguments: dict | None = None) -> int:
    """Record ``kind`` of work for each object of ``targets`` (a queryset; its primary keys are the targets) that
    has none of it waiting or running, and send some after commit. Returns how many were recorded."""
    added = insert_select(
        BackgroundJob,
        targets.order_by().values("pk"),
        {"target": "pk"},
        constants={"kind": kind, "arguments": arguments or {}},
        ignore_conflicts=True,
    )
    if added:
        transaction.on_commit(send_jobs_quietly)
    return added


def jobs_try_again(jobs: QuerySet[BackgroundJob]) -> int:
    """Make failed jobs among ``jobs`` pending again, from their first attempt; returns how many.

    Only each target's newest job of its kind counts: an older failure was asked again already, and the same
    work waiting or running would be newer.
    """
    newest = BackgroundJob.objects.filter(kind=OuterRef("kind"), target=OuterRef("target")).order_by("-pk")
    again = jobs.filter(status=JobStatus.FAILED, pk=Subquery(newest.values("pk")[:1])).update(
        status=JobStatus.PENDING, attempts=0, error="", finished_at=None, dispatches=F("dispatches") + 1
    )
    if again:
        transaction.on_commit(send_jobs_quietly)
    return again


def background_round() -> None:
    """Send again what was lost, then send what has room. Raises on database and Redis errors."""
    recover_jobs()
    send_jobs()


def send_jobs_quietly() -> None:
    """``send_jobs`` for callers that must not fail for it (after an import): the next round sends what waits.

    A command run where no Chowda is known (CHOWDA_REDIS_URL unset, no `make run`) only records the jobs."""
    if not settings.REDIS_URL:
        return
    try:
        send_jobs()
    except Exception as exc:  # kombu, redis-py and the database raise their own kinds of errors
        logger.warning("Could not send background jobs now (%s); the dispatcher's next round does.", exc)


def send_jobs() -> int:
    """Send pending jobs while the window has room; returns how many were sent."""
    client = redis_client()
    # One sender at a time across all workers, so the window is never overfilled; a sender that died frees it.
    lock = client.lock(key("background-send"), timeout=30, blocking_timeout=0)
    if not lock.acquire():
        return 0
    try:
        return _send(_take())
    finally:
        with contextlib.suppress(LockError):  # it expired meanwhile: nothing to free
            lock.release()


def _take() -> list[tuple[int, int]]:
    """Mark as queued the oldest pending jobs the window has room for; returns (job id, dispatch number) of each."""
    now = timezone.now()
    room = settings.BACKGROUND_WINDOW - BackgroundJob.objects.filter(status__in=IN_FLIGHT_JOB_STATUSES).count()
    if room <= 0:
        return []
    due = Q(not_before__isnull=True) | Q(not_before__lte=now)
    ids = list(
        BackgroundJob.objects.filter(due, status=JobStatus.PENDING).order_by("pk").values_list("pk", flat=True)[:room]
    )
    if not ids:
        return []
    BackgroundJob.objects.filter(pk__in=ids, status=JobStatus.PENDING).update(
        status=JobStatus.QUEUED, dispatches=F("dispatches") + 1, deadline=now + UNSTARTED_AFTER, not_before=None
    )
    return list(
        BackgroundJob.objects.filter(pk__in=ids, status=JobStatus.QUEUED, deadline=now + UNSTARTED_AFTER).values_list(
            "pk", "dispatches"
        )
    )


def _send(taken: list[tuple[int, int]]) -> int:
    sent = 0
    try:
        with celery_app.producer_or_acquire() as producer:
            for job_id, token in taken:
                celery_app.send_task(
                    TASK, args=(job_id, token), queue=settings.BACKGROUND_QUEUE, producer=producer, retry=False
                )
                sent += 1
    except Exception:
        for job_id, token in taken[sent:]:
            BackgroundJob.objects.filter(pk=job_id, dispatches=token, status=JobStatus.QUEUED).update(
                status=JobStatus.PENDING
            )
        raise
    return sent


def recover_jobs() -> int:
    """Send again (or, past their kind's attempts, fail) the queued or running jobs whose deadline passed."""
    now = timezone.now()
    lost = BackgroundJob.objects.filter(status__in=IN_FLIGHT_JOB_STATUSES, deadline__lt=now)
    recovered = 0
    for job in lost.only("pk", "kind", "target", "attempts", "dispatches")[:1000]:
        kind = kinds.get(job.kind)
        unfinished = BackgroundJob.objects.filter(
            pk=job.pk, dispatches=job.dispatches, status__in=IN_FLIGHT_JOB_STATUSES
        )
        if kind is None or job.attempts >= kind.attempts:
            what = kind.describe(job.target) if kind else f"do '{job.kind}'"
            recovered += unfinished.update(
                status=JobStatus.FAILED,
                finished_at=now,
                error=f"Chowda could not {what}: its worker stopped {job.attempts} time(s) while doing it. "
                "Try it again; tell your operator if it happens again.",
            )
        else:
            recovered += unfinished.update(status=JobStatus.PENDING, dispatches=F("dispatches") + 1)
    if recovered:
        logger.warning("Sent again or gave up %s background job(s) whose worker or message was lost.", recovered)
    return recovered
