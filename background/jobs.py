"""What a background job's task does: begin it, call its kind's handler, record how it ended."""

import logging
from datetime import timedelta

from django.db.models import F
from django.utils import timezone

from background import kinds
from background.dispatcher import send_jobs_quietly
from background.models import BackgroundJob, JobStatus

logger = logging.getLogger(__name__)


def job_run(job_id: int, token: int) -> None:
    """Run the job if this sending (``token``) is still its current one; never raises for what the work does."""
    job = BackgroundJob.objects.filter(pk=job_id).first()
    if job is None or job.dispatches != token or job.status != JobStatus.QUEUED:
        return  # done, sent again, or deleted while its message waited
    kind = kinds.get(job.kind)
    now = timezone.now()
    if kind is None:
        _finish(job, JobStatus.FAILED, f"Chowda does not know background work of the kind '{job.kind}'.")
        return
    begun = BackgroundJob.objects.filter(pk=job.pk, dispatches=token, status=JobStatus.QUEUED).update(
        status=JobStatus.RUNNING,
        attempts=F("attempts") + 1,
        started_at=now,
        deadline=now + timedelta(seconds=kind.timeout),
    )
    if not begun:
        return
    try:
        kind.handler(job)
    except kinds.JobFailed as exc:
        _finish(job, JobStatus.FAILED, str(exc))
    except Exception as exc:
        logger.exception("Background job %s (%s of %s) crashed", job.pk, job.kind, job.target)
        _finish(
            job,
            JobStatus.FAILED,
            f"Chowda could not {kind.describe(job.target)} ({exc.__class__.__name__}: {exc}); "
            "try it again, and tell your operator if it happens again.",
        )
    else:
        _finish(job, JobStatus.SUCCEEDED, "")
    send_jobs_quietly()


def _finish(job: BackgroundJob, status: str, error: str) -> None:
    BackgroundJob.objects.filter(pk=job.pk, dispatches=job.dispatches).update(
        status=status, error=error, finished_at=timezone.now(), deadline=None
    )


def job_progress(job: BackgroundJob, said: str, *, seconds: float | None = None) -> None:
    """Say how far a long job has got, and keep it from counting as lost for ``seconds`` more (default: its
    kind's timeout)."""
    kind = kinds.get(job.kind)
    extend = seconds if seconds is not None else (kind.timeout if kind else 600.0)
    BackgroundJob.objects.filter(pk=job.pk, dispatches=job.dispatches, status=JobStatus.RUNNING).update(
        progress=said[:300], deadline=timezone.now() + timedelta(seconds=extend)
    )
