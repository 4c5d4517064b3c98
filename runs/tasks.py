import contextlib
import logging
import time

from celery import shared_task
from celery.exceptions import Reject
from django.conf import settings
from django.db import InterfaceError, OperationalError, close_old_connections, connection

from runs import workers  # noqa: F401  (connects the worker's heartbeat and dispatcher to Celery's signals)
from runs.dispatcher import QueueUnavailable, send_next, send_pending
from runs.execution import execute_step, record_crash
from runs.transitions import DATABASE_LOST, step_give_back

logger = logging.getLogger(__name__)

# Chowda's own database is down or dropped the connection: an outage, never the step's fault.
DATABASE_ERRORS = (OperationalError, InterfaceError)


@shared_task(bind=True, name="runs.run_step")
def run_step(self, input_name: str | None, step_run_id: int, token: int) -> str | None:
    """One step of a run's chain: returns the stored output MMIF's name, which the next step receives.

    The next step is sent here rather than by Celery, so that a Redis outage gives the run back to
    the dispatcher instead of losing it; a step that must wait (a busy app, HTTP 503) goes back to the
    dispatcher too, never into a countdown held in a worker's memory (runs/dispatcher.py).
    """
    request_chain, self.request.chain = self.request.chain, None
    # A connection that died since this thread's last task (the database restarted, its backend was ended)
    # is replaced now, rather than found dead half-way through the step.
    close_old_connections()
    try:
        try:
            outcome = execute_step(step_run_id, token, input_name)
        except DATABASE_ERRORS:
            raise
        except Exception as exc:
            record_crash(step_run_id, token, exc)
            return None
    except DATABASE_ERRORS as exc:
        _give_back_after_database_error(step_run_id, token, exc)
        return None
    if outcome.output_name is not None and request_chain:
        send_next(request_chain, outcome.output_name, run_id=outcome.run_id, token=token)
    elif outcome.freed:
        _send_more()
    return outcome.output_name


def _give_back_after_database_error(step_run_id: int, token: int, exc: Exception) -> None:
    """Chowda's database failed under the step: the step did not fail, so its run goes back to the dispatcher
    as soon as the database answers again. If it does not within CHOWDA_DATABASE_WAIT seconds, the message
    goes back to the queue (raises Reject): it is never acknowledged as done while its run is left hanging."""
    logger.warning("Step run %s lost Chowda's database (%s); its run goes back to the dispatcher.", step_run_id, exc)
    deadline, pause = time.monotonic() + settings.DATABASE_WAIT, 0.25
    while True:
        with contextlib.suppress(DATABASE_ERRORS):
            connection.close()
        try:
            if step_give_back(step_run_id, token, DATABASE_LOST):
                _send_more()
            return
        except DATABASE_ERRORS as again:
            if time.monotonic() + pause > deadline:
                raise Reject(
                    f"Chowda's database is still unreachable ({again}); the step goes back to the queue.", requeue=True
                ) from None
        time.sleep(pause)
        pause = min(2 * pause, 5.0)


def _send_more() -> None:
    """A run ended or left its app: send what now has room rather than wait for the dispatcher's round."""
    try:
        send_pending(full=False)
    except QueueUnavailable as exc:
        logger.warning("%s; the dispatcher's next round sends what waits.", exc)
    except DATABASE_ERRORS as exc:
        logger.warning("Chowda's database cannot be reached (%s); the dispatcher's next round sends what waits.", exc)
