"""A worker process's life: its name, its heartbeat, and the dispatcher rounds it runs.

Each worker writes a heartbeat row (``Worker``) every ``WORKER_HEARTBEAT`` seconds and renews
the leases of the app slots its calls hold; a worker silent for ``WORKER_LOST_AFTER`` seconds
is gone, and any worker's dispatcher round gives its runs back (runs/dispatcher.py). The
threads start when Celery sets up the worker and stop when it shuts down.
"""

import logging
import os
import random
import socket
import threading
from collections.abc import Callable
from datetime import UTC, datetime

from celery.signals import worker_init, worker_shutdown
from celery.worker import state
from django.conf import settings
from django.db import close_old_connections, connection
from django.db.models import F
from django.utils import timezone
from redis import RedisError

from background.dispatcher import background_round
from runs import slots
from runs.dispatcher import TASK, QueueUnavailable, dispatch
from runs.models import StepRun, Worker

logger = logging.getLogger(__name__)

_name = ""
_stop = threading.Event()
_threads: list[threading.Thread] = []


def current_name() -> str:
    """This process's worker name, as runs record who took them."""
    return _name or f"{socket.gethostname()}:{os.getpid()}"


def heartbeat() -> None:
    """Say this worker is alive and which runs it holds, and keep the slots of its calls in flight."""
    now = timezone.now()
    # Read before the row is written: recovery trusts a report only once the next one is written too.
    holding = held_runs()
    if not Worker.objects.filter(name=current_name()).update(seen_at=now, holding=holding, reports=F("reports") + 1):
        Worker.objects.update_or_create(name=current_name(), defaults={"seen_at": now, "holding": holding})
    try:
        slots.renew_held()
    except RedisError as exc:  # the leases run out; the calls go on, and the slots are taken again next time
        logger.warning("Could not renew app slot leases: %s", exc)


def held_runs() -> list[list[int]]:
    """[run id, dispatch number] of every step task this process is running or has reserved to run next."""
    for _ in range(10):  # the sets change under us as tasks come and go: copy them again
        try:
            requests = [*state.active_requests, *state.reserved_requests]
            break
        except RuntimeError:
            continue
    else:
        requests = []
    steps: dict[int, set[int]] = {}
    for request in requests:
        if request.name == TASK and len(request.args) >= 2:
            step_id, token = request.args[-2:]
            steps.setdefault(step_id, set()).add(token)
    if not steps:
        return []
    runs = StepRun.objects.filter(pk__in=list(steps)).values_list("pk", "run_id")
    return sorted([run_id, token] for step_id, run_id in runs for token in steps[step_id])


def dispatch_round() -> float | None:
    """One round, for runs and then background jobs; returns in how many seconds a waiting run is due, if
    sooner than the next round."""
    try:
        due = dispatch()
    except QueueUnavailable as exc:
        logger.warning("%s; pending runs wait for it.", exc)
        due = None
    try:
        background_round()
    except RedisError as exc:
        logger.warning("The queue (Redis) cannot be reached (%s); background jobs wait for it.", exc)
    return due


def _every(
    seconds: float, action: Callable[[], float | None], name: str, first: float | None = None
) -> threading.Thread:
    """Call ``action`` every ``seconds`` (with jitter), or sooner when it says something is due sooner;
    the first time after ``first`` seconds, if given."""

    def loop():
        wait = seconds if first is None else first
        try:
            while not _stop.wait(wait):
                close_old_connections()
                wait = seconds * random.uniform(0.8, 1.2)
                try:
                    due = action()
                except Exception:  # the loop must outlive a database or Redis hiccup
                    logger.exception("The worker's %s failed; it will try again.", name)
                    continue
                if due is not None:
                    wait = min(wait, max(0.05, due))
        finally:
            connection.close()

    thread = threading.Thread(target=loop, name=f"chowda-{name}", daemon=True)
    thread.start()
    return thread


@worker_init.connect
def start(sender=None, **kwargs) -> None:
    """Register this worker and start its heartbeat and dispatcher threads."""
    global _name
    _name = f"{getattr(sender, 'hostname', None) or socket.gethostname()}:{os.getpid()}"
    _stop.clear()
    heartbeat()
    connection.close()
    _threads[:] = [
        _every(settings.WORKER_HEARTBEAT, heartbeat, "heartbeat"),
        # A worker that comes up (after a deploy or an outage) sends what waits at once, not a round later.
        _every(settings.DISPATCH_INTERVAL, dispatch_round, "dispatcher", first=0),
    ]
    logger.info("Worker %s is registered; it dispatches every %ss.", _name, settings.DISPATCH_INTERVAL)


@worker_shutdown.connect
def stop(**kwargs) -> None:
    """Stop the threads and say this worker is gone, so the runs it had are sent again without waiting."""
    _stop.set()
    for thread in _threads:
        thread.join(timeout=30)
    _threads.clear()
    Worker.objects.filter(name=current_name()).update(seen_at=datetime.min.replace(tzinfo=UTC))
    connection.close()
