from celery import shared_task

from runs.execution import execute_step, record_crash


@shared_task(bind=True, name="runs.run_step", max_retries=None)
def run_step(self, input_name: str | None, step_run_id: int) -> str | None:
    """One step of a run's chain: returns the stored output MMIF's name, which the next step receives."""
    try:
        outcome = execute_step(step_run_id, input_name, waits=self.request.retries)
    except Exception as exc:
        record_crash(step_run_id, exc)
        outcome = None
    if outcome is not None and outcome.retry_in is not None:
        raise self.retry(countdown=outcome.retry_in)
    if outcome is None or outcome.output_name is None:
        self.request.chain = None  # the run stops here: failed, cancelled or finished
        return None
    return outcome.output_name
