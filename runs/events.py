"""Progress events: every Run and StepRun status change, published to the browser after commit.

Events go to the Channels groups ``batch-<id>`` and ``run-<id>``. Each carries ``seq``,
a per-batch number from Redis taken *after* the change was committed, so a page can
drop anything older than what it already shows; run events also carry the batch's
counts per status, read after ``seq`` was taken, so the newest counts are always right.

Sending: channels-redis binds its connections to the event loop that first used them,
so calling it through ``async_to_sync`` from worker threads leaks loops and fails with
"Event loop is closed" (channels_redis issue 332). Instead each process runs one event
loop in a daemon thread that sends everything, in order, over one connection pool.
"""

import asyncio
import logging
import threading
from collections import Counter

from channels import DEFAULT_CHANNEL_LAYER
from channels.layers import channel_layers
from django.db import transaction

from chowda_site.redis_client import key, redis_client
from runs.models import Run
from runs.selectors import batch_counts, chunks

logger = logging.getLogger(__name__)


def batch_group(batch_id: int) -> str:
    return f"batch-{batch_id}"


def run_group(run_id: int) -> str:
    return f"run-{run_id}"


def current_seq(batch_id: int) -> int:
    return int(redis_client().get(key("batch-seq", batch_id)) or 0)


def _next_seq(batch_id: int) -> int:
    return redis_client().incr(key("batch-seq", batch_id))


def run_event(run) -> dict:
    return {
        "type": "run",
        "batch": run.batch_id,
        "run": run.pk,
        "media_file": run.media_file_id,
        "guid": run.media_file.guid,
        "attempt": run.attempt,
        "status": run.status,
        "started_at": run.started_at.isoformat() if run.started_at else None,
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        "error": run.error,
    }


def step_state(step) -> dict:
    """A step as the live pages show it (in snapshots and in events alike)."""
    return {
        "position": step.position,
        "app": step.app_name,
        "status": step.status,
        "attempts": step.attempts,
        "interruptions": step.interruptions,
        "duration": step.duration,
        "http_status": step.http_status,
        "error": step.error_message,
        "started_at": step.started_at.isoformat() if step.started_at else None,
        "finished_at": step.finished_at.isoformat() if step.finished_at else None,
        "counts": annotation_counts(step.summary),
        # Succeeded, but the app added no annotation though its input had what it reads (runs/mmif_check.py).
        "found_nothing": bool((step.summary or {}).get("found_nothing")),
    }


def step_event(step) -> dict:
    return {
        "type": "step",
        "batch": step.run.batch_id,
        "run": step.run_id,
        "media_file": step.run.media_file_id,
        "guid": step.run.media_file.guid,
        "step": step.position,
        **step_state(step),
    }


def annotation_counts(summary: dict) -> dict[str, int]:
    """Annotations the step's app added, by type, over all its new views."""
    counts = Counter()
    for view in (summary or {}).get("views", []):
        counts.update(view.get("annotations", {}))
    return dict(counts)


# Above this many runs of one batch changed at once, pages get one "batch" event and read a snapshot.
RUN_EVENTS_AT_ONCE = 200


def runs_changed(run_ids, *, batch_id: int | None = None) -> None:
    """After commit, publish the current state of these runs (all of batch ``batch_id``, when given).

    Their steps are not sent one by one: a page shows a new run's steps as queued, and
    a cancelled run's queued steps as skipped, which is what the runner wrote. When a batch's
    start or cancel changes thousands of runs, one event says so instead.
    """
    run_ids = list(run_ids)
    if batch_id is not None and len(run_ids) > RUN_EVENTS_AT_ONCE:
        transaction.on_commit(lambda: _publish_batch(batch_id))
    elif run_ids:
        transaction.on_commit(lambda: _publish_runs(run_ids))


def step_changed(step, *, run_changed: bool = False) -> None:
    """After commit, publish the step as it is now (and its run's state, when that may have changed).

    The event is built from the instance at once: the step task has it in hand, so this
    costs no query; only a run's change is read back, to send its counts.
    """
    event = step_event(step)
    batch_id, run_id = step.run.batch_id, step.run_id
    transaction.on_commit(lambda: _publish_step(event, batch_id, run_id, run_changed=run_changed))


def _publish_runs(run_ids: list[int]) -> None:
    try:
        by_batch: dict[int, list] = {}
        for chunk in chunks(run_ids):
            for run in Run.objects.filter(pk__in=chunk).select_related("media_file"):
                by_batch.setdefault(run.batch_id, []).append(run)
        for batch_id, batch_runs in by_batch.items():
            seq = _next_seq(batch_id)
            counts = batch_counts(batch_id)
            for run in batch_runs:
                event = {**run_event(run), "seq": seq, "batch_counts": counts}
                publisher.send([batch_group(batch_id), run_group(run.pk)], event)
    except Exception:  # the browser missing an event must never fail a run
        logger.exception("Could not publish progress of runs %s", run_ids[:10])


def _publish_batch(batch_id: int) -> None:
    try:
        seq = _next_seq(batch_id)
        event = {"type": "batch", "batch": batch_id, "seq": seq, "batch_counts": batch_counts(batch_id)}
        publisher.send([batch_group(batch_id)], event)
    except Exception:  # the browser missing an event must never fail a run
        logger.exception("Could not publish progress of batch %s", batch_id)


def _publish_step(event: dict, batch_id: int, run_id: int, *, run_changed: bool) -> None:
    try:
        seq = _next_seq(batch_id)
        groups = [batch_group(batch_id), run_group(run_id)]
        publisher.send(groups, {**event, "seq": seq})
        if run_changed:
            run = Run.objects.select_related("media_file").get(pk=run_id)
            publisher.send(groups, {**run_event(run), "seq": seq, "batch_counts": batch_counts(batch_id)})
    except Exception:  # the browser missing an event must never fail a run
        logger.exception("Could not publish progress of run %s", run_id)


class Publisher:
    """One event loop in a daemon thread per process; events are sent in the order they were given."""

    def __init__(self):
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._queue: asyncio.Queue | None = None

    def _start(self) -> None:
        ready = threading.Event()

        def run():
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            self._queue = asyncio.Queue()
            self._loop = loop
            self._drainer = loop.create_task(self._drain())  # kept: the loop holds tasks only weakly
            ready.set()
            loop.run_forever()

        threading.Thread(target=run, name="chowda-events", daemon=True).start()
        ready.wait()

    async def _drain(self) -> None:
        # A layer of its own, never the process's shared one: in Daphne (a cancel from a page) and in
        # the tests, consumers use that one from another event loop, and channels-redis's connections
        # must not be shared between loops (they hang).
        layer = channel_layers.make_backend(DEFAULT_CHANNEL_LAYER)
        while True:
            groups, event = await self._queue.get()
            try:
                for group in groups:
                    await layer.group_send(group, {"type": "progress", "event": event})
            except Exception:
                logger.exception("Could not send a progress event to %s", groups)

    def send(self, groups: list[str], event: dict) -> None:
        with self._lock:
            if self._loop is None:
                self._start()
        self._loop.call_soon_threadsafe(self._queue.put_nowait, (groups, event))


publisher = Publisher()
