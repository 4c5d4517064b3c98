"""Sending runs to the queue. The database says what should run; Redis carries only a window of it.

Start, cancel and retry only write rows: a new run is *pending*. ``send_pending`` sends pending
runs as Celery chains (one task per step, the MMIF passed along by name) while their batch has
fewer than ``DISPATCH_WINDOW`` runs queued or running and the app of their next step has a free
slot, round-robin over batches, so batches progress side by side and a cancel has little to take
back. A step that must wait (a busy app, HTTP 503) goes back to pending, never into a countdown
held in a worker's memory. ``dispatch`` runs in every worker every ``DISPATCH_INTERVAL`` seconds;
``send_pending`` also runs when a batch starts or is retried and when a run ends or leaves an app.

Every sending of a run takes its next dispatch number (``Run.dispatches``), carried by its tasks;
a task whose number is not the run's current one does nothing (runs/execution.py). That makes
sending again safe, and ``recover`` sends again what was lost:

- the runs taken by a worker that stopped sending heartbeats (its running step is marked
  interrupted and is sent again, with the input it had);
- the runs marked queued whose sending never finished (the sender died between the two);
- the runs sent to a Redis that has since lost its data (its *epoch* key is gone), unless a
  live worker has one of their steps in hand;
- the runs marked queued or running that no live worker holds and the queue does not carry
  (``unheld``): a task ended without finishing its step, e.g. when Chowda's own database failed under it.

See docs/operating.md, "How runs are dispatched".
"""

import base64
import json
import logging
import uuid
from dataclasses import dataclass
from datetime import timedelta

from celery import chain
from django.conf import settings
from django.db import transaction
from django.db.models import Count, Exists, F, Min, OuterRef, Q, Subquery
from django.utils import timezone
from kombu.transport.redis import PRIORITY_STEPS
from kombu.transport.redis import Channel as RedisChannel
from redis import RedisError

from batches.models import Batch
from chowda_site.celery import app as celery_app
from chowda_site.redis_client import key, redis_client
from clams_apps.models import ClamsApp
from runs import events
from runs.models import IN_FLIGHT_STATUSES, Run, Status, StepRun, Worker
from runs.selectors import chunks
from runs.transitions import INTERRUPTED, run_give_back, runs_give_back

logger = logging.getLogger(__name__)

TASK = "runs.run_step"
# A run marked queued whose sending did not finish within this long is given back.
UNSENT_AFTER = timedelta(seconds=30)
# Beyond its window's room, how many more of a batch's pending runs a round looks at, for runs whose app is free.
CANDIDATES_PAST_ROOM = 100
LOST_MESSAGE = "Redis lost this run's message (it restarted without its data); it was sent again."
UNSENT = "The run's message was never sent (the dispatcher stopped); it was sent again."
UNHELD = "No worker had this run's step in hand any more (its task ended without finishing it); it was sent again."


class QueueUnavailable(Exception):
    """Redis (the Celery broker) cannot be reached: pending runs wait until it is back."""


@dataclass(frozen=True)
class Launch:
    """One sending of a run: its dispatch number, the steps still to run and the MMIF the first one reads."""

    run_id: int
    token: int
    step_ids: list[int]
    input_name: str | None


def dispatch() -> float | None:
    """A dispatcher round: recover lost work, then send pending runs. Returns in how many seconds the next
    waiting run is due (a step that waits to try its app again), if one is.

    Raises QueueUnavailable when Redis cannot be reached (nothing is lost: runs wait, pending).
    """
    try:
        recover(current_epoch())
    except RedisError as exc:
        raise QueueUnavailable(f"The queue (Redis) cannot be reached: {exc}") from None
    send_pending()
    now = timezone.now()
    due = Run.objects.filter(status=Status.PENDING, not_before__gt=now).aggregate(next=Min("not_before"))["next"]
    return (due - now).total_seconds() if due else None


def send_pending(batch_ids: list[int] | None = None) -> int:
    """Send pending runs of these batches (all, by default) while their windows and the apps of their next
    steps have room; returns how many were sent. Raises QueueUnavailable when Redis cannot be reached
    (what could not be sent stays pending)."""
    try:
        epoch = current_epoch()
        if batch_ids is None:
            batch_ids = list(_sendable().order_by().values_list("batch_id", flat=True).distinct())
        chosen = _choose(batch_ids, _app_room())
    except RedisError as exc:
        raise QueueUnavailable(f"The queue (Redis) cannot be reached: {exc}") from None
    return sum(_send(batch_id, run_ids, epoch) for batch_id, run_ids in chosen.items())


def _sendable():
    now = timezone.now()
    return Run.objects.filter(status=Status.PENDING).filter(Q(not_before__isnull=True) | Q(not_before__lte=now))


def _next_app():
    """The app of a run's first step still to run."""
    return Subquery(
        StepRun.objects.filter(run=OuterRef("pk"), status=Status.QUEUED).order_by("position").values("app_id")[:1]
    )


def _app_room() -> dict[int, int]:
    """How many more runs each enabled app can take now: its limit, less the calls in flight (their slots)
    and the runs already sent to it and not yet begun. Apps not listed are not limited here."""
    limits = dict(ClamsApp.objects.filter(enabled=True).values_list("pk", "max_concurrency"))
    busy = dict.fromkeys(limits, 0)
    client = redis_client()
    seconds, micros = client.time()
    pipe = client.pipeline(transaction=False)
    for app_id in limits:
        pipe.zcount(key("app-slots", app_id), seconds + micros / 1e6, "+inf")
    for app_id, held in zip(limits, pipe.execute(), strict=True):
        busy[app_id] += held
    running_step = StepRun.objects.filter(run=OuterRef("pk"), status=Status.RUNNING)
    waiting = (
        Run.objects.filter(status__in=IN_FLIGHT_STATUSES)
        .filter(~Exists(running_step))
        .annotate(next_app=_next_app())
        .order_by()
        .values_list("next_app")
        .annotate(n=Count("*"))
    )
    for app_id, n in waiting:
        if app_id in busy:
            busy[app_id] += n
    return {app_id: limit - busy[app_id] for app_id, limit in limits.items()}


def _choose(batch_ids: list[int], app_room: dict[int, int]) -> dict[int, list[int]]:
    """Which pending runs to send: round-robin over the batches, one run each in turn, while each batch's
    window and the app its next step calls have room."""
    rooms: dict[int, int] = {}
    waiting: dict[int, list[tuple[int, int | None]]] = {}
    for batch_id in batch_ids:
        room = settings.DISPATCH_WINDOW - Run.objects.filter(batch_id=batch_id, status__in=IN_FLIGHT_STATUSES).count()
        if room > 0:
            pending = _sendable().filter(batch_id=batch_id).annotate(next_app=_next_app()).order_by("-pk")
            rooms[batch_id] = room
            waiting[batch_id] = list(pending.values_list("pk", "next_app")[: room + CANDIDATES_PAST_ROOM])
    chosen: dict[int, list[int]] = {batch_id: [] for batch_id in waiting}
    progress = True
    while progress:
        progress = False
        for batch_id, runs in waiting.items():
            while runs and len(chosen[batch_id]) < rooms[batch_id]:
                run_id, app_id = runs.pop()  # the oldest first
                if app_id in app_room:
                    if app_room[app_id] <= 0:
                        continue  # its app is full: the next pending run may call another
                    app_room[app_id] -= 1
                chosen[batch_id].append(run_id)
                progress = True
                break
    return {batch_id: run_ids for batch_id, run_ids in chosen.items() if run_ids}


def _send(batch_id: int, run_ids: list[int], epoch: str) -> int:
    launches = _take(batch_id, run_ids)
    if not launches:
        return 0
    sent: list[Launch] = []
    try:
        with celery_app.producer_or_acquire() as producer:
            for launch in launches:
                _chain(launch).apply_async(producer=producer, retry=False)
                sent.append(launch)
    except Exception as exc:  # kombu and redis-py raise their own kinds of connection errors
        logger.warning(
            "Could not send %s run(s) of batch %s to the queue: %s", len(launches) - len(sent), batch_id, exc
        )
        for launch in launches[len(sent) :]:
            Run.objects.filter(pk=launch.run_id, dispatches=launch.token, status=Status.QUEUED).update(
                status=Status.PENDING
            )
        _mark_sent(sent, epoch)
        raise QueueUnavailable(f"The queue (Redis) cannot be reached: {exc}") from None
    _mark_sent(sent, epoch)
    return len(sent)


def _take(batch_id: int, run_ids: list[int]) -> list[Launch]:
    """Mark these pending runs queued (as many as the batch's window still has room for), and say where each
    starts."""
    with transaction.atomic():
        # One sender at a time per batch, so that two workers never overfill its window.
        Batch.objects.select_for_update().filter(pk=batch_id).first()
        room = settings.DISPATCH_WINDOW - Run.objects.filter(batch_id=batch_id, status__in=IN_FLIGHT_STATUSES).count()
        ids = run_ids[: max(room, 0)]
        if not ids:
            return []
        now = timezone.now()
        Run.objects.filter(pk__in=ids, status=Status.PENDING).update(
            status=Status.QUEUED,
            dispatches=F("dispatches") + 1,
            dispatched_at=now,
            sent_at=None,
            worker="",
            not_before=None,
        )
        # Only the runs this call took (its ``dispatched_at``): a sender that waited for the batch's lock
        # chose its runs before, and must not send again those another sender has just sent (two tasks
        # of one step would then share, and free, one app slot).
        taken = Run.objects.filter(pk__in=ids, status=Status.QUEUED, dispatched_at=now).values_list(
            "pk", "dispatches", "source_mmif"
        )
        runs, source = {}, {}
        for run_id, token, source_mmif in taken:
            runs[run_id], source[run_id] = token, source_mmif
        steps: dict[int, list[tuple[int, str, str]]] = {}
        for run_id, step_id, status, output in (
            StepRun.objects.filter(run_id__in=runs)
            .order_by("run_id", "position")
            .values_list("run_id", "pk", "status", "output_mmif")
        ):
            steps.setdefault(run_id, []).append((step_id, status, output))
        events.runs_changed(runs)
    return [_launch(run_id, token, steps.get(run_id, []), source[run_id] or None) for run_id, token in runs.items()]


def current_epoch() -> str:
    """The name of Redis's current data: made anew when Redis comes back without its data."""
    client = redis_client()
    epoch_key = key("broker-epoch")
    epoch = client.get(epoch_key)
    if epoch is None:
        client.set(epoch_key, uuid.uuid4().hex, nx=True)
        epoch = client.get(epoch_key)
    return epoch.decode()


def recover(epoch: str) -> int:
    """Give back to the dispatcher the runs whose worker or message was lost; returns how many."""
    now = timezone.now()
    lost = list(
        Worker.objects.filter(seen_at__lt=now - timedelta(seconds=settings.WORKER_LOST_AFTER)).values_list(
            "name", flat=True
        )
    )
    in_flight = Run.objects.filter(status__in=IN_FLIGHT_STATUSES)
    given_back = runs_give_back(in_flight.filter(worker__in=lost), step_message=INTERRUPTED)
    given_back += runs_give_back(
        in_flight.filter(sent_at__isnull=True, dispatched_at__lt=now - UNSENT_AFTER), step_message=UNSENT
    )
    running_step = StepRun.objects.filter(run=OuterRef("pk"), status=Status.RUNNING)
    given_back += runs_give_back(
        in_flight.exclude(sent_epoch=epoch).exclude(sent_at__isnull=True).filter(~Exists(running_step)),
        step_message=LOST_MESSAGE,
    )
    unheld_runs = unheld(now)
    if unheld_runs:
        pairs = Q()
        for run_id, token in unheld_runs:
            pairs |= Q(pk=run_id, dispatches=token)
        given_back += runs_give_back(in_flight.filter(pairs), step_message=UNHELD)
    Worker.objects.filter(seen_at__lt=now - 10 * timedelta(seconds=settings.WORKER_LOST_AFTER)).delete()
    if given_back:
        logger.warning("Gave back %s run(s) whose worker or message was lost; they will be sent again.", given_back)
    return given_back


def unheld(now) -> list[tuple[int, int]]:
    """(run id, dispatch number) of the runs marked queued or running that no live worker holds and the queue
    does not carry: their task ended without finishing the step (Chowda's database failed under it, say).

    A look happens at most once per heartbeat interval, across all workers. A run is suspected at one look
    and given back at a later one, once every worker alive at the first has written two heartbeats since
    (the second was read after the first look) and still none holds it.
    """
    client = redis_client()
    if not client.set(key("unheld-look"), 1, nx=True, px=max(1, int(settings.WORKER_HEARTBEAT * 1000))):
        return []
    alive = now - timedelta(seconds=settings.WORKER_LOST_AFTER)
    reports, held = {}, set()
    for name, count, holding in Worker.objects.filter(seen_at__gte=alive).values_list("name", "reports", "holding"):
        reports[name] = count
        held.update((run_id, token) for run_id, token in holding)
    in_flight = Run.objects.filter(
        Q(status=Status.RUNNING) | Q(status=Status.QUEUED, sent_at__lt=now - UNSENT_AFTER)
    ).values_list("pk", "dispatches", "status")
    candidates = {(run_id, token) for run_id, token, status in in_flight if (run_id, token) not in held}
    if any(status == Status.QUEUED for _, _, status in in_flight):
        candidates -= _in_queue()
    suspects_key = key("unheld-suspects")
    earlier = json.loads(client.get(suspects_key) or "{}")
    suspects, confirmed = {}, []
    for run_id, token in candidates:
        name = f"{run_id}:{token}"
        seen = earlier.get(name, reports)
        if seen is not reports and all(reports.get(worker, count + 2) >= count + 2 for worker, count in seen.items()):
            confirmed.append((run_id, token))
        else:
            suspects[name] = seen
    client.set(suspects_key, json.dumps(suspects), ex=max(60, int(10 * settings.WORKER_LOST_AFTER)))
    return confirmed


def _in_queue() -> set[tuple[int, int]]:
    """(run id, dispatch number) of the step messages waiting in the queue, not yet taken by any worker."""
    queue = celery_app.conf.task_default_queue
    names = [queue, *(f"{queue}{RedisChannel.sep}{step}" for step in PRIORITY_STEPS if step)]
    pipe = redis_client().pipeline(transaction=False)
    for name in names:
        pipe.lrange(name, 0, -1)
    steps: dict[int, set[int]] = {}
    for raw in (message for messages in pipe.execute() for message in messages):
        try:
            message = json.loads(raw)
            if message.get("headers", {}).get("task") != TASK:
                continue
            args = json.loads(base64.b64decode(message["body"]))[0]
            steps.setdefault(int(args[-2]), set()).add(int(args[-1]))
        except (ValueError, KeyError, TypeError, IndexError):
            continue  # not a message of ours: nothing to learn from it
    pairs = StepRun.objects.filter(pk__in=list(steps)).values_list("pk", "run_id") if steps else []
    return {(run_id, token) for step_id, run_id in pairs for token in steps[step_id]}


def _launch(run_id: int, token: int, steps: list[tuple[int, str, str]], source: str | None) -> Launch:
    """Resume at the first step that has not succeeded, from the output of the one before it."""
    input_name, todo = source, []
    for step_id, status, output in steps:
        if not todo and status == Status.SUCCEEDED and output:
            input_name = output
        elif status == Status.QUEUED or todo:
            todo.append(step_id)
    return Launch(run_id, token, todo, input_name)


def _chain(launch: Launch):
    first, *rest = launch.step_ids
    return chain(
        celery_app.signature(TASK, args=(launch.input_name, first, launch.token)),
        *(celery_app.signature(TASK, args=(step_id, launch.token)) for step_id in rest),
    )


def _mark_sent(launches: list[Launch], epoch: str) -> None:
    now = timezone.now()
    tokens: dict[int, list[int]] = {}
    for launch in launches:
        tokens.setdefault(launch.token, []).append(launch.run_id)
    for token, run_ids in tokens.items():
        for chunk in chunks(run_ids):
            Run.objects.filter(pk__in=chunk, dispatches=token).update(sent_at=now, sent_epoch=epoch)


def send_next(request_chain: list, output_name: str, *, run_id: int, token: int) -> None:
    """Send the next task of a run's chain with the MMIF this step made; give the run back if Redis cannot
    be reached (the dispatcher sends it again, from this step's output, when Redis is back)."""
    next_task, rest = celery_app.signature(request_chain[-1]), request_chain[:-1]
    try:
        next_task.apply_async((output_name,), chain=rest or None, retry=False)
    except Exception as exc:  # kombu and redis-py raise their own kinds of connection errors
        logger.warning("Could not send the next step of run %s: %s; it goes back to the dispatcher.", run_id, exc)
        run_give_back(run_id, token)
