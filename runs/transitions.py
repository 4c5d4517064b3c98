"""What happens to a step, and so to its run, as the step task works: begin, wait, succeed, fail;
and how a run goes back to the dispatcher when its worker or its message is lost.

Every change is a conditional UPDATE, so a cancel, a recovery and a finishing step can race
without one undoing the other. A step's changes also name the run's dispatch number (``token``,
see runs/dispatcher.py): a task whose run was sent again since it was sent changes nothing.
Each change publishes its event after commit.
"""

from datetime import timedelta

from django.db import transaction
from django.db.models import F, OuterRef, QuerySet, Subquery
from django.utils import timezone

from chowda_site.plain_sql import Sql, placeholders, update_where
from runs import events
from runs.models import ACTIVE_STATUSES, IN_FLIGHT_STATUSES, Run, Status, StepRun
from runs.selectors import chunks
from runs.signals import run_finished, step_succeeded

RUN_TABLE = Run._meta.db_table

INTERRUPTED = "The worker stopped while the app was working on this step; it was sent again."
DATABASE_LOST = "Chowda lost its own database during this step; the step was sent again once it was back."


def _step_update(step: StepRun, token: int, from_statuses, *, run_statuses=None, **fields) -> bool:
    """Write these fields if the step is still in one of ``from_statuses`` and its run still has ``token``
    (and is in one of ``run_statuses``, when given).

    Keeps the instance in step (events are built from it); False if nothing was written.
    Written as SQL (chowda_site/plain_sql.py): the ORM compiling this join cost more than the step's app call.
    """
    run_statuses = run_statuses or ()
    where = (
        f"id = %s AND status IN ({placeholders(from_statuses)}) AND run_id IN "
        f"(SELECT id FROM {RUN_TABLE} WHERE id = %s AND dispatches = %s"
        + (f" AND status IN ({placeholders(run_statuses)}))" if run_statuses else ")")
    )
    params = [step.pk, *map(str, from_statuses), step.run_id, token, *map(str, run_statuses)]
    changed = update_where(StepRun, fields, where, params)
    if changed:
        for name, value in fields.items():
            setattr(step, name, value)
    return bool(changed)


def step_begin(step: StepRun, token: int, worker: str) -> bool:
    """Mark the step running (one more attempt) and its run running, taken by ``worker``.

    False, changing nothing, if the step is not waiting to run (another task has it, or it ended) or
    the run is no longer this task's to run (cancelled, or sent again).
    """
    now = timezone.now()
    with transaction.atomic():
        begun = _step_update(
            step,
            token,
            [Status.QUEUED],
            run_statuses=IN_FLIGHT_STATUSES,
            status=Status.RUNNING,
            attempts=step.attempts + 1,
            started_at=step.started_at or now,
            app_version=_app_version(step),
        )
        # Steps before runs, as everywhere (no deadlock on PostgreSQL). The worker takes the run here, so
        # that recovery knows whose it is (runs/dispatcher.py).
        claimed = begun and update_where(
            Run,
            {"status": Status.RUNNING, "worker": worker, "started_at": Sql("COALESCE(started_at, %s)", [now])},
            f"id = %s AND dispatches = %s AND status IN ({placeholders(IN_FLIGHT_STATUSES)})",
            [step.run_id, token, *map(str, IN_FLIGHT_STATUSES)],
        )
        if not claimed:
            transaction.set_rollback(True)
            return False
        events.step_changed(step, run_changed=step.run.status == Status.QUEUED)
    return True


def _app_version(step: StepRun) -> str:
    metadata = step.app.metadata if step.app_id and step.app else {}
    return str((metadata or {}).get("app_version") or "")[:100]


def _finished(step: StepRun) -> None:
    """After commit, tell whoever listens (reports' notifications) that the step's run ended."""
    batch_id, run_id = step.run.batch_id, step.run_id
    transaction.on_commit(lambda: run_finished.send(sender=Run, batch_id=batch_id, run_id=run_id))


def step_wait(
    step: StepRun, token: int, message: str, *, retry_in: float, log_tail: str = "", uncount: bool = False
) -> bool:
    """The step will be tried again in ``retry_in`` seconds: back to queued, keeping the last error for people
    to see, and its run back to the dispatcher, which sends it again then. ``uncount``: this try does not count
    as an attempt (Chowda's own outage, not the app's): a job it started then stays the step's, to be adopted;
    after the app's own failure (a timeout) the next try starts a job of its own."""
    attempts = {"attempts": max(step.attempts - 1, 0)} if uncount else {"job_name": ""}
    with transaction.atomic():
        waiting = _step_update(
            step,
            token,
            [Status.RUNNING],
            status=Status.QUEUED,
            error_message=message,
            log_tail=log_tail,
            job_state="",
            **attempts,
        )
        if waiting:
            run_wait(step.run_id, token, retry_in=retry_in, next_app_id=step.app_id)
            events.step_changed(step, run_changed=True)
    return waiting


def run_wait(run_id: int, token: int, *, retry_in: float, next_app_id: int | None) -> bool:
    """The run's next step cannot run now (its app, ``next_app_id``, is busy): back to the dispatcher, which sends
    it when that app has room, not before ``retry_in`` seconds."""
    events.runs_pending()
    return bool(
        Run.objects.filter(pk=run_id, dispatches=token, status__in=IN_FLIGHT_STATUSES).update(
            status=Status.PENDING,
            worker="",
            sent_at=None,
            dispatches=F("dispatches") + 1,
            not_before=timezone.now() + timedelta(seconds=retry_in),
            next_app_id=next_app_id,
        )
    )


def step_succeed(
    step: StepRun,
    token: int,
    *,
    input_name: str,
    output_name: str,
    http_status: int,
    duration: float,
    summary: dict,
    is_last: bool,
    log_tail: str = "",
) -> bool:
    """Record the app's output; finish the run if this was its last step.

    Returns False if the answer no longer counts (the run was sent again meanwhile), or if the
    run was cancelled and this was its last step; for other steps the next task finds out itself.
    """
    now = timezone.now()
    with transaction.atomic():
        recorded = _step_update(
            step,
            token,
            [Status.RUNNING],
            status=Status.SUCCEEDED,
            finished_at=now,
            input_mmif=input_name,
            output_mmif=output_name,
            http_status=http_status,
            duration=duration,
            summary=summary,
            error_message="",
            log_tail=log_tail,
            job_state="",
            job_name="",
        )
        if not recorded:
            return False
        step_id, run_id = step.pk, step.run_id
        transaction.on_commit(lambda: step_succeeded.send(sender=StepRun, step_id=step_id, run_id=run_id))
        events.step_changed(step, run_changed=is_last)
        if not is_last:
            return True
        finished = update_where(
            Run,
            {"status": Status.SUCCEEDED, "finished_at": now, "final_mmif": output_name},
            "id = %s AND status = %s",
            [step.run_id, str(Status.RUNNING)],
        )
        if finished:
            _finished(step)
        return bool(finished)


def step_fail(
    step: StepRun,
    token: int,
    message: str,
    *,
    input_name: str = "",
    http_status: int | None = None,
    duration: float | None = None,
    stack_trace: str = "",
    error_name: str = "",
    staging_failed: bool = False,
    log_tail: str = "",
) -> bool:
    """Record the failure; the later steps are skipped and the run fails (unless it was cancelled already).

    ``staging_failed``: the media file could not be fetched, so the app was never called.
    False, changing nothing, if the run was sent again meanwhile.
    """
    now = timezone.now()
    with transaction.atomic():
        recorded = _step_update(
            step,
            token,
            [Status.QUEUED, Status.RUNNING],
            status=Status.FAILED,
            finished_at=now,
            input_mmif=input_name,
            http_status=http_status,
            duration=duration,
            error_message=message,
            stack_trace=stack_trace,
            error_mmif=error_name,
            staging_failed=staging_failed,
            log_tail=log_tail,
            job_state="",
            job_name="",
            app_version=step.app_version or _app_version(step),  # also when the app was never called
        )
        if not recorded:
            return False
        StepRun.objects.filter(run_id=step.run_id, position__gt=step.position, status=Status.QUEUED).update(
            status=Status.SKIPPED
        )
        if Run.objects.filter(pk=step.run_id, status__in=ACTIVE_STATUSES).update(
            status=Status.FAILED, finished_at=now, error=f"Step {step.position} failed: {message}"
        ):
            _finished(step)
        events.step_changed(step, run_changed=True)
    return True


def step_job_state(step: StepRun, token: int, state: str, *, job_name: str | None = None) -> bool:
    """What the step's job is doing now (its pod pending, pulling its image, running), for the live pages; and
    the Job it runs as, once created, so the step sent again adopts it. False if the step is no longer this
    task's (cancelled, sent again)."""
    fields = {"job_state": state[:300]}
    if job_name is not None:
        fields["job_name"] = job_name
    with transaction.atomic():
        changed = _step_update(step, token, [Status.RUNNING], **fields)
        if changed:
            events.step_changed(step)
    return changed


def step_stopped(step: StepRun, token: int, message: str, *, log_tail: str = "") -> bool:
    """Chowda ended the step's job because its run was cancelled: the step is cancelled too. Nothing changes if the
    run was sent again instead (the task that has it now records the step)."""
    with transaction.atomic():
        stopped = _step_update(
            step,
            token,
            [Status.RUNNING],
            run_statuses=[Status.CANCELLED],
            status=Status.CANCELLED,
            finished_at=timezone.now(),
            error_message=message,
            log_tail=log_tail,
            job_state="",
            job_name="",
        )
        if stopped:
            events.step_changed(step)
    return stopped


def runs_give_back(runs: QuerySet[Run], *, step_message: str = INTERRUPTED) -> int:
    """Send runs that are queued or running back to the dispatcher (pending); returns how many.

    For runs whose worker stopped or whose message was lost: a step that was running goes back to
    queued, with ``step_message`` for people to see, and the run is sent again from the first step
    that has not succeeded. Steps already succeeded are never run again.
    """
    ids = list(runs.filter(status__in=IN_FLIGHT_STATUSES).values_list("pk", flat=True))
    given_back = 0
    with transaction.atomic():
        for chunk in chunks(ids):
            # Steps before runs, the order in which a step task locks them (no deadlock on PostgreSQL).
            StepRun.objects.filter(run_id__in=chunk, status=Status.RUNNING).update(
                status=Status.QUEUED, error_message=step_message, interruptions=F("interruptions") + 1
            )
            # The dispatch number moves on at once, so a task of the old sending changes nothing from now on.
            given_back += Run.objects.filter(pk__in=chunk, status__in=IN_FLIGHT_STATUSES).update(
                status=Status.PENDING,
                worker="",
                sent_at=None,
                dispatches=F("dispatches") + 1,
                next_app_id=Subquery(
                    StepRun.objects.filter(run=OuterRef("pk"), status=Status.QUEUED)
                    .order_by("position")
                    .values("app_id")[:1]
                ),
            )
        events.runs_changed(ids)
        events.runs_pending()
    return given_back


def run_give_back(run_id: int, token: int) -> bool:
    """Send one run back to the dispatcher if it still has ``token`` (its task could not reach the queue)."""
    return bool(runs_give_back(Run.objects.filter(pk=run_id, dispatches=token)))


def step_give_back(step_run_id: int, token: int, step_message: str) -> bool:
    """Send the run of this step back to the dispatcher if it still has ``token`` (its task could not finish)."""
    return bool(runs_give_back(Run.objects.filter(steps__pk=step_run_id, dispatches=token), step_message=step_message))
