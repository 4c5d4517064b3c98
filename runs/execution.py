"""What one step task does: take a slot at the app, send it the MMIF, keep and record what comes back.

A task carries its run's dispatch number (``token``, runs/dispatcher.py) and does nothing once the
run was sent again. Chowda's own outages never fail a run: when Redis cannot be reached for the
app's slot, the task gives the run back to the dispatcher, which sends it again once Redis is back.
"""

import contextlib
import json
import logging
import random
import time
import uuid
from dataclasses import dataclass

from celery.worker import state as worker_state
from django.conf import settings
from django.db import DatabaseError, connection
from redis import RedisError

from batches.mmif import source_mmif
from batches.models import MediaFile
from chowda_site.plain_sql import columns, read_instance, read_value
from clams_apps.models import ClamsApp
from clams_apps.parameters import query_params
from runs import slots, staging, storage, transitions
from runs.app_call import Answer, post_mmif
from runs.dispatcher import QueueUnavailable, app_limits, send_app_pending
from runs.job_call import run_job_step
from runs.models import IN_FLIGHT_STATUSES, Run, Status, StepRun
from runs.workers import current_name

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outcome:
    """``output_name``: the chain goes on with this MMIF; else it stops here.

    ``freed``: the run ended or went back to pending, so the dispatcher may send others of its batch now.
    """

    output_name: str | None = None
    freed: bool = False
    run_id: int | None = None


STOP = Outcome()
FREED = Outcome(freed=True)


def execute_step(step_run_id: int, token: int, input_name: str | None) -> Outcome:
    """Run one step. ``input_name`` is the stored MMIF to send (None: the run's source). Safe to call again
    for a step that already finished, and for a task whose run was sent again (it then does nothing)."""
    step = _fetch_step(step_run_id)
    if step is None:
        return STOP  # its batch was deleted while the message waited
    run = step.run
    if run.dispatches != token or run.status not in IN_FLIGHT_STATUSES:
        if run.status not in IN_FLIGHT_STATUSES:
            if run.status != Status.PENDING:
                StepRun.objects.filter(pk=step.pk, status=Status.QUEUED).update(status=Status.SKIPPED)
            _drop_claim(step)
        return STOP  # cancelled, finished, or sent again: this message is not the run's to carry any more
    if step.status != Status.QUEUED:
        return STOP  # delivered again: running in another task, or done (its next step was sent then)
    app = step.app
    if app is None:
        transitions.step_fail(
            step, token, f"The app '{step.app_name}' of step {step.position} was deleted from Chowda."
        )
        return FREED
    if not app.enabled:
        return _disabled(step, token, app)

    # Media is staged before a run's first step, whatever MMIF it starts from; a retried run checks again, as its
    # copy went when the failed attempt ended. Other steps skip the check: it would cost the hot path a query.
    if input_name is None or run.retry_of_id or input_name == run.source_mmif.name:
        staged = staging.prepare(step, token)
        if not staged.ready:
            _drop_claim(step)
            return FREED
        input_name = input_name or _source(run)
    swap = staging.StagedLocation(run.media_file.location, run.staged_as) if run.staged_as else None
    known_view_ids = _view_ids(step, input_name)
    # One holder per task, not per step: a message delivered twice makes two tasks of one step, and the
    # one that loses step_begin must free only its own slot, never the one of the call in flight.
    holder = f"step-{step.pk}-{uuid.uuid4().hex[:12]}"
    try:
        taken = slots.take(app.pk, holder, run_id=run.pk, limit=app.max_concurrency)
        if not taken and _on_standby(app, holder, run, token):
            taken = slots.TAKEN_FROM_STANDBY
        if taken == slots.TAKEN_FROM_STANDBY:
            app.refresh_from_db()  # sent before the app had room: it may have been changed or disabled since
            if not app.enabled:
                _release(app, holder, None)
                return _disabled(step, token, app)
    except RedisError as exc:
        logger.warning("Redis cannot be reached for app %s's slot (%s): run %s waits for it.", app.pk, exc, run.pk)
        transitions.run_give_back(run.pk, token)
        return STOP
    if not taken:  # its claim ran out and another run took the app's last slot: wait for the app's next one
        transitions.run_wait(run.pk, token, retry_in=0, next_app_id=app.pk)
        _hand_on(app.pk)  # in case the app freed a slot meanwhile
        return STOP
    answer = None
    try:
        if not transitions.step_begin(step, token, current_name()):
            return STOP
        required_inputs = app.app_metadata.required_inputs if app.app_metadata else None
        with storage.open_mmif(input_name) as stored, swap.app_input(stored) if swap else stored as mmif:
            if app.is_job:
                answer = run_job_step(
                    app=app,
                    step=step,
                    token=token,
                    mmif=mmif,
                    known_view_ids=known_view_ids,
                    answer_as_kept=swap.answer if swap else None,
                    required_inputs=required_inputs,
                )
            else:
                answer = post_mmif(
                    app_name=step.app_name,
                    endpoint=app.endpoint,
                    timeout=app.timeout,
                    mmif=mmif,
                    query=query_params(None, step.parameters),
                    known_view_ids=known_view_ids,
                    answer_as_kept=swap.answer if swap else None,
                    required_inputs=required_inputs,
                )
    finally:
        _release(app, holder, answer)
    if answer is not None and not answer.abandoned:
        _hand_on(app.pk)  # the next run waiting for the app starts while this one is recorded
    return _record(step, token, answer, input_name)


def _hand_on(app_id: int) -> None:
    """Send the runs waiting for the app while it has room. Never raises: the dispatcher's round does it anyway."""
    try:
        send_app_pending(app_id)
    except (QueueUnavailable, DatabaseError) as exc:
        logger.warning(
            "Could not send the runs waiting for app %s (%s); the dispatcher's next round does.", app_id, exc
        )


def _disabled(step: StepRun, token: int, app) -> Outcome:
    transitions.step_fail(
        step, token, f"App '{app.name}' was disabled, so it was not called; enable it, then use Retry failed."
    )
    return FREED


# While on standby, how often the task looks whether its run is still to run (a cancel, a recovery).
STANDBY_LOOK = 1.0


def _on_standby(app, holder: str, run: Run, token: int) -> bool:
    """If the run was sent on standby for its app, wait here for the app's next free slot and take it at once
    (True); False when it is not on standby, or the run stopped being this task's, or the worker is shutting
    down, or CHOWDA_STANDBY_WAIT passed (the run then goes back to pending). Raises redis.RedisError."""
    if not slots.standing_by(app.pk, run.pk):
        return False
    deadline = time.monotonic() + settings.STANDBY_WAIT
    still_ours = Run.objects.filter(pk=run.pk, dispatches=token, status__in=IN_FLIGHT_STATUSES)
    while time.monotonic() < deadline and not worker_state.should_stop and slots.standing_by(app.pk, run.pk):
        slots.wait_for_room(app.pk, STANDBY_LOOK)
        if slots.take(app.pk, holder, run_id=run.pk, limit=app.max_concurrency):
            return True
        if not still_ours.exists():
            break
    slots.stand_down(app.pk, run.pk)
    return False


def _drop_claim(step: StepRun) -> None:
    """A run that is no longer to run (cancelled, finished, its media not staged) frees the claim the dispatcher
    made for it, and its place on standby if it had one."""
    if step.app_id is None:
        return
    with contextlib.suppress(RedisError):  # else they run out by themselves within SLOT_LEASE / STANDBY_LEASE
        slots.unreserve(step.app_id, [step.run_id])
        slots.stand_down(step.app_id, step.run_id)


def _next_step_app(step: StepRun) -> int | None:
    """The app of the run's step after this one (from the run's snapshot), if it has one."""
    later = [s for s in step.run.pipeline_snapshot if s.get("position", 0) > step.position]
    return min(later, key=lambda s: s["position"]).get("app_id") if later else None


def _step_sql() -> str:
    step, run, media, app = (m._meta.db_table for m in (StepRun, Run, MediaFile, ClamsApp))
    return (
        f"SELECT {columns(StepRun, 's')}, {columns(Run, 'r')}, {columns(MediaFile, 'm')}, {columns(ClamsApp, 'a')}, "
        f"(SELECT p.summary FROM {step} p WHERE p.run_id = s.run_id AND p.position < s.position "
        f"AND p.status = %s ORDER BY p.position DESC LIMIT 1) "
        f"FROM {step} s JOIN {run} r ON r.id = s.run_id JOIN {media} m ON m.id = r.media_file_id "
        f"LEFT JOIN {app} a ON a.id = s.app_id WHERE s.id = %s"
    )


STEP_SQL = _step_sql()
STEP_COLUMNS = len(StepRun._meta.concrete_fields)
RUN_COLUMNS = len(Run._meta.concrete_fields)
MEDIA_COLUMNS = len(MediaFile._meta.concrete_fields)


def _fetch_step(step_run_id: int) -> StepRun | None:
    """The step with its run, media file and app, and the summary of the run's last succeeded step before
    it (``previous_summary``), in one statement written as SQL (chowda_site/plain_sql.py); None if it is gone."""
    with connection.cursor() as cursor:
        cursor.execute(STEP_SQL, [str(Status.SUCCEEDED), step_run_id])
        row = cursor.fetchone()
    if row is None:
        return None
    ends = [STEP_COLUMNS, STEP_COLUMNS + RUN_COLUMNS, STEP_COLUMNS + RUN_COLUMNS + MEDIA_COLUMNS, len(row) - 1]
    step = read_instance(StepRun, row[: ends[0]])
    run = read_instance(Run, row[ends[0] : ends[1]])
    run.media_file = read_instance(MediaFile, row[ends[1] : ends[2]])
    step.run = run
    step.app = read_instance(ClamsApp, row[ends[2] : ends[3]])
    step.previous_summary = read_value(StepRun, "summary", row[-1]) if row[-1] is not None else None
    return step


def _release(app, holder: str, answer: Answer | None) -> None:
    """Free the app's slot; after a timeout, keep it for the app's grace period, as the app goes on working."""
    keep_for = app.timeout_grace if answer is not None and answer.abandoned else 0
    try:
        slots.release(app.pk, holder, keep_for=keep_for)
    except RedisError as exc:  # the lease runs out by itself within SLOT_LEASE seconds
        logger.warning("Could not free app %s's slot (%s); its lease runs out by itself.", app.pk, exc)


def _source(run: Run) -> str:
    """The run's source MMIF, built from its media file and stored the first time it is needed."""
    if run.source_mmif:
        return run.source_mmif.name
    name = storage.save_text(storage.source_path(run), source_mmif(run.media_file))
    Run.objects.filter(pk=run.pk).update(source_mmif=name)
    return name


def _view_ids(step: StepRun, input_name: str) -> set[str]:
    """The ids of the views already in the input, so the app's new views can be told apart: from the
    previous step's summary (read with the step), else from the input itself."""
    previous = step.previous_summary
    if previous and "view_ids" in previous:
        return set(previous["view_ids"])
    with storage.open_mmif(input_name) as mmif:
        return {view.get("id") for view in json.load(mmif).get("views", [])}


def _is_last(step: StepRun) -> bool:
    positions = [s["position"] for s in step.run.pipeline_snapshot]
    if positions:
        return step.position == max(positions)
    return not StepRun.objects.filter(run_id=step.run_id, position__gt=step.position).exists()


def _record(step: StepRun, token: int, answer: Answer, input_name: str) -> Outcome:
    is_last = _is_last(step)
    if answer.kind == "stopped":
        transitions.step_stopped(step, token, answer.message, log_tail=answer.log_tail)
        return FREED
    if answer.kind == "wait":  # Chowda's cluster is down, not the app: it never fails the step
        transitions.step_wait(
            step, token, f"{answer.message} The step waits for it.", retry_in=settings.KUBERNETES_RETRY, uncount=True
        )
        return FREED
    if answer.kind == "succeeded":
        with answer.body:
            output_name = storage.save_file(storage.step_path(step), answer.body)
        goes_on = transitions.step_succeed(
            step,
            token,
            input_name=input_name,
            output_name=output_name,
            http_status=answer.http_status,
            duration=answer.duration,
            summary=answer.summary,
            is_last=is_last,
            log_tail=answer.log_tail,
        )
        if not goes_on or is_last:
            return Outcome(freed=True, run_id=step.run_id)
        return _go_on(step, token, output_name)
    if answer.kind == "transient" and step.attempts < settings.STEP_MAX_ATTEMPTS:
        backoff = settings.STEP_RETRY_BACKOFF * 2 ** (step.attempts - 1) * random.uniform(0.5, 1.5)
        transitions.step_wait(
            step,
            token,
            f"{answer.message} (attempt {step.attempts} of {settings.STEP_MAX_ATTEMPTS})",
            retry_in=min(settings.STEP_RETRY_BACKOFF_MAX, backoff),
            log_tail=answer.log_tail,
        )
        return FREED
    message = answer.message
    if answer.kind == "transient":
        message = f"{message} Gave up after {step.attempts} attempts."
    error_name = ""
    if answer.body is not None:
        with answer.body:
            error_name = storage.save_file(storage.step_path(step, error=True), answer.body)
    transitions.step_fail(
        step,
        token,
        message,
        input_name=input_name,
        http_status=answer.http_status,
        duration=answer.duration,
        stack_trace=answer.stack_trace,
        error_name=error_name,
        log_tail=answer.log_tail,
    )
    return FREED


def _go_on(step: StepRun, token: int, output_name: str) -> Outcome:
    """The run's next step is sent now if its app has room (claimed for it), else the run waits for that app."""
    app_id = _next_step_app(step)
    limit = app_limits([app_id]).get(app_id) if app_id is not None else None
    if limit is None:
        return Outcome(output_name, run_id=step.run_id)  # its task finds the app gone or disabled, and says so
    try:
        claimed = slots.reserve(app_id, [step.run_id], limit=limit)
    except RedisError:
        claimed = []  # the run waits in the database until Redis is back
    if claimed:
        return Outcome(output_name, run_id=step.run_id)
    transitions.run_wait(step.run_id, token, retry_in=0, next_app_id=app_id)
    _hand_on(app_id)  # in case the app freed a slot meanwhile
    return Outcome(freed=True, run_id=step.run_id)


def record_crash(step_run_id: int, token: int, exc: BaseException) -> None:
    """A bug inside Chowda (not the app, not an outage): fail the step so the run does not hang as running."""
    logger.exception("Step run %s crashed", step_run_id)
    step = StepRun.objects.filter(pk=step_run_id).first()
    if step is not None:
        transitions.step_fail(
            step,
            token,
            f"Chowda could not run this step ({exc.__class__.__name__}: {exc}); "
            "retry it, and tell your operator if it happens again.",
        )
