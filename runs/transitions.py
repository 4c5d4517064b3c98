"""What happens to a step, and so to its run, as the step task works: begin, wait, succeed, fail.

Every change is a conditional UPDATE (``WHERE status IN ...``), so a cancel and a finishing
step can race without one undoing the other, and each publishes its event after commit.
Each returns whether the run may go on.
"""

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from runs import events
from runs.models import ACTIVE_STATUSES, Run, Status, StepRun


def _record(step: StepRun, **fields) -> None:
    """Write these fields of the step, and keep the instance in step (events are built from it)."""
    for name, value in fields.items():
        setattr(step, name, value)
    StepRun.objects.filter(pk=step.pk).update(**fields)


def step_begin(step: StepRun) -> bool:
    """Mark the step running (one more attempt) and its run running; False if the run is no longer active."""
    now = timezone.now()
    with transaction.atomic():
        run_started = Run.objects.filter(pk=step.run_id, status=Status.QUEUED).update(
            status=Status.RUNNING, started_at=now
        )
        if not run_started and not Run.objects.filter(pk=step.run_id, status=Status.RUNNING).exists():
            StepRun.objects.filter(pk=step.pk, status=Status.QUEUED).update(status=Status.SKIPPED)
            return False
        _record(step, status=Status.RUNNING, attempts=step.attempts + 1, started_at=step.started_at or now)
        events.step_changed(step, run_changed=bool(run_started))
    return True


def step_wait(step: StepRun, message: str) -> None:
    """The step will be tried again later: back to queued, keeping the last error for people to see."""
    with transaction.atomic():
        _record(step, status=Status.QUEUED, error_message=message)
        events.step_changed(step)


def step_succeed(
    step: StepRun, *, input_name: str, output_name: str, http_status: int, duration: float, summary: dict, is_last: bool
) -> bool:
    """Record the app's output; finish the run if this was its last step.

    Returns False if the run was cancelled meanwhile and this was its last step; for other
    steps the next task finds out itself, before it calls its app.
    """
    now = timezone.now()
    with transaction.atomic():
        _record(
            step,
            status=Status.SUCCEEDED,
            finished_at=now,
            input_mmif=input_name,
            output_mmif=output_name,
            http_status=http_status,
            duration=duration,
            summary=summary,
            error_message="",
        )
        events.step_changed(step, run_changed=is_last)
        if not is_last:
            return True
        return bool(
            Run.objects.filter(pk=step.run_id, status=Status.RUNNING).update(
                status=Status.SUCCEEDED, finished_at=now, final_mmif=output_name
            )
        )


def step_fail(
    step: StepRun,
    message: str,
    *,
    input_name: str = "",
    http_status: int | None = None,
    duration: float | None = None,
    stack_trace: str = "",
    error_name: str = "",
) -> None:
    """Record the failure; the later steps are skipped and the run fails (unless it was cancelled already)."""
    now = timezone.now()
    with transaction.atomic():
        _record(
            step,
            status=Status.FAILED,
            finished_at=now,
            input_mmif=input_name,
            http_status=http_status,
            duration=duration,
            error_message=message,
            stack_trace=stack_trace,
            error_mmif=error_name,
        )
        StepRun.objects.filter(run_id=step.run_id, position__gt=step.position, status=Status.QUEUED).update(
            status=Status.SKIPPED
        )
        Run.objects.filter(Q(pk=step.run_id), Q(status__in=ACTIVE_STATUSES)).update(
            status=Status.FAILED, finished_at=now, error=f"Step {step.position} failed: {message}"
        )
        events.step_changed(step, run_changed=True)
