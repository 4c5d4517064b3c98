"""What one step task does: take a slot at the app, send it the MMIF, keep and record what comes back."""

import json
import logging
import random
from dataclasses import dataclass

from django.conf import settings

from batches.mmif import source_mmif
from clams_apps.parameters import query_params
from runs import slots, storage, transitions
from runs.app_call import Answer, post_mmif
from runs.models import ACTIVE_STATUSES, Run, Status, StepRun

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outcome:
    """``output_name``: the chain goes on with this MMIF. ``retry_in``: run this task again later. Neither: stop."""

    output_name: str | None = None
    retry_in: float | None = None


STOP = Outcome()


def execute_step(step_run_id: int, input_name: str | None, *, waits: int) -> Outcome:
    """Run one step. ``input_name`` is the stored MMIF to send (None: the run's source); ``waits`` how often
    this task has been put off already. Safe to call again for a step that already finished."""
    step = StepRun.objects.select_related("run__media_file", "app").get(pk=step_run_id)
    run = step.run
    if step.status == Status.SUCCEEDED and step.output_mmif:  # delivered again after it finished
        return Outcome(step.output_mmif.name) if run.status in (*ACTIVE_STATUSES, Status.SUCCEEDED) else STOP
    if step.status in (Status.FAILED, Status.SKIPPED, Status.CANCELLED):
        return STOP
    if run.status not in ACTIVE_STATUSES:
        StepRun.objects.filter(pk=step.pk, status__in=ACTIVE_STATUSES).update(status=Status.SKIPPED)
        return STOP
    app = step.app
    if app is None:
        transitions.step_fail(step, f"The app '{step.app_name}' of step {step.position} was deleted from Chowda.")
        return STOP
    if not app.enabled:
        transitions.step_fail(
            step, f"App '{app.name}' was disabled, so it was not called; enable it, then use Retry failed."
        )
        return STOP

    input_name = input_name or _source(run)
    known_view_ids = _view_ids(step, input_name)
    holder = f"step-{step.pk}"
    hold_seconds = app.timeout + settings.APP_CONNECT_TIMEOUT + 60
    if not slots.acquire(app.pk, holder, limit=app.max_concurrency, hold_seconds=hold_seconds):
        return Outcome(retry_in=min(30.0, 0.5 + 0.25 * waits) * random.uniform(0.5, 1.5))
    try:
        if not transitions.step_begin(step):
            return STOP
        with storage.open_mmif(input_name) as mmif:
            answer = post_mmif(
                app_name=step.app_name,
                endpoint=app.endpoint,
                timeout=app.timeout,
                mmif=mmif,
                query=query_params(None, step.parameters),
                known_view_ids=known_view_ids,
            )
    finally:
        slots.release(app.pk, holder)
    return _record(step, answer, input_name)


def _source(run: Run) -> str:
    """The run's source MMIF, built from its media file and stored the first time it is needed."""
    if run.source_mmif:
        return run.source_mmif.name
    name = storage.save_text(storage.source_path(run), source_mmif(run.media_file))
    Run.objects.filter(pk=run.pk).update(source_mmif=name)
    return name


def _view_ids(step: StepRun, input_name: str) -> set[str]:
    """The ids of the views already in the input, so the app's new views can be told apart."""
    previous = (
        StepRun.objects.filter(run_id=step.run_id, position__lt=step.position, status=Status.SUCCEEDED)
        .order_by("-position")
        .values_list("summary", flat=True)
        .first()
    )
    if previous and "view_ids" in previous:
        return set(previous["view_ids"])
    with storage.open_mmif(input_name) as mmif:
        return {view.get("id") for view in json.load(mmif).get("views", [])}


def _is_last(step: StepRun) -> bool:
    positions = [s["position"] for s in step.run.pipeline_snapshot]
    if positions:
        return step.position == max(positions)
    return not StepRun.objects.filter(run_id=step.run_id, position__gt=step.position).exists()


def _record(step: StepRun, answer: Answer, input_name: str) -> Outcome:
    is_last = _is_last(step)
    if answer.kind == "succeeded":
        with answer.body:
            output_name = storage.save_file(storage.step_path(step), answer.body)
        goes_on = transitions.step_succeed(
            step,
            input_name=input_name,
            output_name=output_name,
            http_status=answer.http_status,
            duration=answer.duration,
            summary=answer.summary,
            is_last=is_last,
        )
        return Outcome(output_name) if goes_on else STOP
    if answer.kind == "transient" and step.attempts < settings.STEP_MAX_ATTEMPTS:
        transitions.step_wait(step, f"{answer.message} (attempt {step.attempts} of {settings.STEP_MAX_ATTEMPTS})")
        backoff = settings.STEP_RETRY_BACKOFF * 2 ** (step.attempts - 1) * random.uniform(0.5, 1.5)
        return Outcome(retry_in=min(settings.STEP_RETRY_BACKOFF_MAX, backoff))
    message = answer.message
    if answer.kind == "transient":
        message = f"{message} Gave up after {step.attempts} attempts."
    error_name = ""
    if answer.body is not None:
        with answer.body:
            error_name = storage.save_file(storage.step_path(step, error=True), answer.body)
    transitions.step_fail(
        step,
        message,
        input_name=input_name,
        http_status=answer.http_status,
        duration=answer.duration,
        stack_trace=answer.stack_trace,
        error_name=error_name,
    )
    return STOP


def record_crash(step_run_id: int, exc: BaseException) -> None:
    """A bug or an outage inside Chowda (not the app): fail the step so the run does not hang as running."""
    logger.exception("Step run %s crashed", step_run_id)
    step = StepRun.objects.filter(pk=step_run_id).first()
    if step is not None:
        transitions.step_fail(
            step,
            f"Chowda could not run this step ({exc.__class__.__name__}: {exc}); "
            "retry it, and tell your operator if it happens again.",
        )
