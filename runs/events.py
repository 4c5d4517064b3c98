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
import queue
import threading
import time
from collections import Counter

from channels import DEFAULT_CHANNEL_LAYER
from channels.layers import channel_layers
from django.db import close_old_connections, transaction

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
        # An app run as a Kubernetes Job: what its pod is doing ("Pending: pulling the image").
        "job_state": step.job_state,
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
        _after_commit(_publish_batch, batch_id)
    elif run_ids:
        _after_commit(_publish_runs, run_ids)


def batch_changed(batch_id: int) -> None:
    """After commit, tell the batch's pages that many of its runs changed at once: they read a snapshot."""
    _after_commit(_publish_batch, batch_id)


def pending_key() -> str:
    return key("runs-pending")


def runs_pending() -> None:
    """After commit, count one more change that made runs pending, so that a sender that found no run waiting for
    an app asks the database again (runs/dispatcher.py, ``send_app_pending``)."""
    transaction.on_commit(_count_pending)


def _count_pending() -> None:
    try:
        redis_client().incr(pending_key())
    except Exception:  # without Redis nothing is sent anyway; the dispatcher's round asks the database
        logger.warning("Could not count pending runs in Redis; the dispatcher's next round finds them.")


def step_changed(step, *, run_changed: bool = False) -> None:
    """After commit, publish the step as it is now (and its run's state, when that may have changed).

    The event is built from the instance at once: the step task has it in hand, so this
    costs no query; only a run's change is read back, to send its counts.
    """
    event = step_event(step)
    _after_commit(_publish_step, event, step.run.batch_id, step.run_id, run_changed)


def _publish_runs(run_ids: list[int]) -> None:
    try:
        by_batch: dict[int, list] = {}
        for chunk in chunks(run_ids):
            for run in Run.objects.filter(pk__in=chunk).select_related("media_file"):
                by_batch.setdefault(run.batch_id, []).append(run)
        for batch_id, batch_runs in by_batch.items():
            seq = _next_seq(batch_id)
            counts = counts_now_or_soon(batch_id)
            for run in batch_runs:
                event = {**run_event(run), "seq": seq, **counts}
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


def _publish_step(event: dict, batch_id: int, run_id: int, run_changed: bool) -> None:
    try:
        seq = _next_seq(batch_id)
        groups = [batch_group(batch_id), run_group(run_id)]
        publisher.send(groups, {**event, "seq": seq})
        if run_changed:
            run = Run.objects.select_related("media_file").get(pk=run_id)
            publisher.send(groups, {**run_event(run), "seq": seq, **counts_now_or_soon(batch_id)})
    except Exception:  # the browser missing an event must never fail a run
        logger.exception("Could not publish progress of run %s", run_id)


# A batch's counts per status are read at most this often per process: a batch whose runs change faster (a flood of
# short steps, a 100,000-file batch) gets them in a "counts" event once things settle, not a count per event.
COUNTS_EVERY = 0.25


class EventsThread:
    """The thread that builds and publishes this process's events, in the order their changes were committed.

    A change hands its event over when it commits (``_after_commit``) and goes on: the step's next move (its app
    call, the next run sent) never waits for Redis's sequence number, a run read back or a batch's counts. The
    thread also sends each batch's "counts" event when counts were left out of events that came too fast.
    """

    def __init__(self):
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._started = False
        self._read_at: dict[int, float] = {}
        self._due: dict[int, float] = {}

    def put(self, job: tuple) -> None:
        if not self._started:
            with self._lock:
                if not self._started:
                    threading.Thread(target=self._run, name="chowda-events-db", daemon=True).start()
                    self._started = True
        self._jobs.put(job)

    def counts_now_or_soon(self, batch_id: int) -> dict:
        """``{"batch_counts": …}`` read now (the event carries them), or {} when they were read less than COUNTS_EVERY
        ago: a "counts" event then follows within COUNTS_EVERY. Called on this thread only."""
        now = time.monotonic()
        if now - self._read_at.get(batch_id, -COUNTS_EVERY) >= COUNTS_EVERY:
            self._read_at[batch_id] = now
            return {"batch_counts": batch_counts(batch_id)}
        self._due.setdefault(batch_id, self._read_at[batch_id] + COUNTS_EVERY)
        return {}

    def _run(self) -> None:
        while True:
            wait = min(self._due.values()) - time.monotonic() if self._due else None
            try:
                function, args = self._jobs.get(timeout=max(wait, 0) if wait is not None else None)
                function(*args)
                while not self._jobs.empty():  # a burst: publish it all, then let the connection go
                    function, args = self._jobs.get_nowait()
                    function(*args)
            except queue.Empty:
                pass
            self._send_due_counts()
            close_old_connections()

    def _send_due_counts(self) -> None:
        now = time.monotonic()
        for batch_id in [b for b, due in self._due.items() if due <= now]:
            del self._due[batch_id]
            self._read_at[batch_id] = now
            try:
                seq = _next_seq(batch_id)
                counts = {"type": "counts", "batch": batch_id, "seq": seq, "batch_counts": batch_counts(batch_id)}
                publisher.send([batch_group(batch_id)], counts)
            except Exception:  # the browser missing an event must never fail a run
                logger.exception("Could not publish the counts of batch %s", batch_id)


_events = EventsThread()
counts_now_or_soon = _events.counts_now_or_soon


def _after_commit(function, *args) -> None:
    """Call ``function(*args)`` on the events thread once the current transaction commits."""
    transaction.on_commit(lambda: _events.put((function, args)))


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
            waiting = [await self._queue.get()]
            while not self._queue.empty() and len(waiting) < 500:
                waiting.append(self._queue.get_nowait())
            try:
                watched = await self._watched(layer, {group for groups, _ in waiting for group in groups})
                for groups, event in waiting:
                    for group in groups:
                        if group in watched:
                            await layer.group_send(group, {"type": "progress", "event": event})
            except Exception:
                logger.exception("Could not send %s progress event(s)", len(waiting))

    @staticmethod
    async def _watched(layer, groups: set[str]) -> set[str]:
        """The groups that some page listens to, asked in one round trip: a group send costs Redis two
        round trips even when nobody listens, and most runs' pages are closed."""
        if not hasattr(layer, "_group_key"):  # not channels-redis (the in-memory layer of some tests)
            return groups
        by_host: dict[int, list[str]] = {}
        for group in groups:
            by_host.setdefault(layer.consistent_hash(group), []).append(group)
        watched = set()
        for index, host_groups in by_host.items():
            pipe = layer.connection(index).pipeline(transaction=False)
            for group in host_groups:
                pipe.zcard(layer._group_key(group))
            watched.update(group for group, members in zip(host_groups, await pipe.execute(), strict=True) if members)
        return watched

    def send(self, groups: list[str], event: dict) -> None:
        with self._lock:
            if self._loop is None:
                self._start()
        self._loop.call_soon_threadsafe(self._queue.put_nowait, (groups, event))


publisher = Publisher()
