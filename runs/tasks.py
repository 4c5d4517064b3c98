import logging

from celery import shared_task

from runs import workers  # noqa: F401  (connects the worker's heartbeat and dispatcher to Celery's signals)
from runs.dispatcher import QueueUnavailable, send_next, send_pending
from runs.execution import execute_step, record_crash

logger = logging.getLogger(__name__)


@shared_task(bind=True, name="runs.run_step")
def run_step(self, input_name: str | None, step_run_id: int, token: int) -> str | None:
    """One step of a run's chain: returns the stored output MMIF's name, which the next step receives.

    The next step is sent here rather than by Celery, so that a Redis outage gives the run back to
    the dispatcher instead of losing it; a step that must wait (a busy app, HTTP 503) goes back to the
    dispatcher too, never into a countdown held in a worker's memory (runs/dispatcher.py).
    """
    request_chain, self.request.chain = self.request.chain, None
    try:
        outcome = execute_step(step_run_id, token, input_name)
    except Exception as exc:
        record_crash(step_run_id, token, exc)
        return None
    if outcome.output_name is not None and request_chain:
        send_next(request_chain, outcome.output_name, run_id=outcome.run_id, token=token)
    elif outcome.freed:
        _send_more()
    return outcome.output_name


def _send_more() -> None:
    """A run ended or left its app: send what now has room rather than wait for the dispatcher's round."""
    try:
        send_pending()
    except QueueUnavailable as exc:
        logger.warning("%s; the dispatcher's next round sends what waits.", exc)
