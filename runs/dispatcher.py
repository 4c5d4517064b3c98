"""Sending runs to the queue. The database says what should run; Redis carries only a window of it.

Start, cancel and retry only write rows: a new run is *pending*, waiting for the app of its next step
(``Run.next_app``). ``send_pending`` sends pending runs as Celery chains (one task per step, the MMIF
passed along by name) while their app has a free slot, each slot to the batch with the fewest runs in
flight (at most ``DISPATCH_WINDOW`` each), so batches progress side by side and a cancel has little to
take back. Each run sent holds a claim on its app's slot (runs/slots.py) until its task takes it, and a
step that ends hands its app to the next run waiting for it, so an app at its limit stays at its limit. A
step that must wait (a busy app, HTTP 503) goes back to pending, never into a countdown held in a
worker's memory. ``dispatch`` runs in every worker every ``DISPATCH_INTERVAL`` seconds; ``send_pending``
also runs when a batch starts or is retried, when a run ends, and, for one app, when a step leaves it.

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
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta

from celery import chain
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Exists, F, Min, OuterRef, Q
from django.utils import timezone
from kombu.transport.redis import PRIORITY_STEPS
from kombu.transport.redis import Channel as RedisChannel
from redis import RedisError

from chowda_site.celery import app as celery_app
from chowda_site.redis_client import key, redis_client
from clams_apps.models import ClamsApp
from runs import events, slots
from runs.models import IN_FLIGHT_STATUSES, Run, Status, StepRun, Worker
from runs.selectors import chunks
from runs.transitions import INTERRUPTED, run_give_back, runs_give_back

logger = logging.getLogger(__name__)

TASK = "runs.run_step"
# A run marked queued whose sending did not finish within this long is given back.
UNSENT_AFTER = timedelta(seconds=30)
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


def send_pending(app_ids: list[int] | None = None, *, full: bool = True) -> int:
    """Send pending runs while the apps of their next steps have room (every app, or only these); returns how
    many were sent. Raises QueueUnavailable when Redis cannot be reached (what could not be sent stays pending).

    Each free slot of an app goes to the batch with the fewest runs queued or running among the batches with
    runs waiting for it (the oldest such run), so a small batch started after a big one gets its share at once.
    The slot is claimed for the run as it is sent (runs/slots.py), so no other run takes it before its task.
    Not ``full`` (a task whose run ended), an app nobody waits for costs no query once this process has seen so,
    until a run becomes pending again. A ``full`` send (the dispatcher's rounds, a start) asks about every app,
    and also sends the runs waiting for an app that is disabled or gone: their task fails them, saying so.
    """
    try:
        limits = app_limits(app_ids)
        room = _room(limits)
        sent = 0
        for app_id, free in room.free.items():
            wants = free > 0 or (settings.STANDBY and app_id not in room.standing_by)
            if wants and (full or _none_waiting.get(app_id) != room.pending_version):
                batches = _batches_waiting_for(app_id)
                if batches:
                    sent += _fill(app_id, limits[app_id], room, batches)
                else:
                    _none_waiting[app_id] = room.pending_version
        if full and app_ids is None:
            sent += _send_unlimited(room.epoch)
    except RedisError as exc:
        raise QueueUnavailable(f"The queue (Redis) cannot be reached: {exc}") from None
    return sent


# What a process knows of an app's limit, read at most every LIMITS_FOR seconds: a step that ends asks which runs
# wait for its app, and must not read the apps table each time.
LIMITS_FOR = 5.0
_limits: dict[int, tuple[float, int | None]] = {}
_limits_lock = threading.Lock()


def app_limits(app_ids: list[int] | None = None) -> dict[int, int]:
    """The max_concurrency of these enabled apps (every enabled app, by default), as read lately."""
    now = time.monotonic()
    with _limits_lock:
        known = {app_id: limit for app_id, (read_at, limit) in _limits.items() if now - read_at < LIMITS_FOR}
        # Every app: read each time, so that an app registered a moment ago is never left out.
        fresh = app_ids is not None and all(app_id in known for app_id in app_ids)
    if not fresh:
        enabled = ClamsApp.objects.filter(enabled=True)
        if app_ids is not None:
            enabled = enabled.filter(pk__in=app_ids)
        read = dict(enabled.values_list("pk", "max_concurrency"))
        with _limits_lock:
            for app_id in app_ids if app_ids is not None else read:
                _limits[app_id] = (now, read.get(app_id))
            if app_ids is None:
                for app_id in set(_limits) - set(read):
                    _limits[app_id] = (now, None)
        known = read
    wanted = app_ids if app_ids is not None else list(known)
    return {app_id: known[app_id] for app_id in wanted if known.get(app_id) is not None}


def _room(limits: dict[int, int]) -> slots.Room:
    return slots.free_room(
        limits, epoch_key=key("broker-epoch"), new_epoch=uuid.uuid4().hex, pending_key=events.pending_key()
    )


# Per app, the pending runs' version (runs/events.py, ``runs_pending``) at which this process last found none
# waiting for it: until a run becomes pending again, a step leaving that app need not ask the database.
_none_waiting: dict[int, int] = {}


def send_app_pending(app_id: int) -> int:
    """``send_pending`` for one app: what a step calls when it leaves the app, so the next run waiting for it
    starts at once. Costs one Redis round trip when no run has become pending since none waited. Raises
    QueueUnavailable."""
    try:
        limits = app_limits([app_id])
        if app_id not in limits:
            return 0
        room = _room(limits)
        wants = room.free[app_id] > 0 or (settings.STANDBY and app_id not in room.standing_by)
        if not wants or _none_waiting.get(app_id) == room.pending_version:
            return 0
        batches = _batches_waiting_for(app_id)
        if not batches:
            _none_waiting[app_id] = room.pending_version
            return 0
        return _fill(app_id, limits[app_id], room, batches)
    except RedisError as exc:
        raise QueueUnavailable(f"The queue (Redis) cannot be reached: {exc}") from None


def _sendable():
    now = timezone.now()
    return Run.objects.filter(status=Status.PENDING).filter(Q(not_before__isnull=True) | Q(not_before__lte=now))


def _batches_waiting_for(app_id: int) -> list[int]:
    """The batches with runs waiting for this app, found with one index seek per batch (a loose index scan
    on runs_waiting_for_app), however many runs wait: a 100,000-file batch costs what a 10-file one does."""
    table = connection.ops.quote_name(Run._meta.db_table)
    sql = (
        f"WITH RECURSIVE b(id) AS ("
        f"SELECT MIN(batch_id) FROM {table} WHERE status = %s AND next_app_id = %s "
        f"UNION ALL SELECT (SELECT MIN(batch_id) FROM {table} WHERE status = %s AND next_app_id = %s "
        f"AND batch_id > b.id) FROM b WHERE b.id IS NOT NULL"
        f") SELECT id FROM b WHERE id IS NOT NULL"
    )
    pending = str(Status.PENDING)
    with connection.cursor() as cursor:
        cursor.execute(sql, [pending, app_id, pending, app_id])
        return [batch_id for (batch_id,) in cursor.fetchall()]


def _fill(app_id: int, limit: int, room: slots.Room, batches: list[int] | None = None) -> int:
    """Send runs waiting for the app, each to the batch with the fewest runs in flight (of ``batches``, the batches
    with runs waiting for it, if the caller knows them): one per free slot, claimed for it, and, once the app is
    full, one more on standby for its next free slot (runs/slots.py). A slot freed while the app has a run on
    standby is that run's."""
    batches = _batches_waiting_for(app_id) if batches is None else batches
    if not batches:
        return 0
    standby = app_id in room.standing_by
    free = max(room.free[app_id] - standby, 0)
    # Beyond the free slots, one run goes on standby for the next slot to free, if none is yet.
    wanted = free + int(settings.STANDBY and not standby)
    if not wanted:
        return 0
    in_flight = dict.fromkeys(batches, 0)
    in_flight.update(
        Run.objects.filter(batch_id__in=batches, status__in=IN_FLIGHT_STATUSES)
        .order_by()
        .values_list("batch_id")
        .annotate(n=Count("*"))
    )
    waiting = {
        batch_id: list(
            _sendable()
            .filter(next_app_id=app_id, batch_id=batch_id)
            .order_by("pk")
            .values_list("pk", flat=True)[: min(wanted, settings.DISPATCH_WINDOW)]
        )
        for batch_id in batches
        if in_flight[batch_id] < settings.DISPATCH_WINDOW
    }
    chosen = []
    while len(chosen) < wanted:
        open_batches = [b for b, runs in waiting.items() if runs and in_flight[b] < settings.DISPATCH_WINDOW]
        if not open_batches:
            break
        batch_id = min(open_batches, key=lambda b: (in_flight[b], waiting[b][0]))
        chosen.append(waiting[batch_id].pop(0))
        in_flight[batch_id] += 1
    granted = slots.reserve(app_id, chosen[:free], limit=limit)
    waits = [run_id for run_id in chosen[free:] if slots.stand_by(app_id, run_id)]
    launches = _take(granted + waits)
    taken = {launch.run_id for launch in launches}
    slots.unreserve(app_id, list(set(granted) - taken))
    for run_id in set(waits) - taken:
        slots.stand_down(app_id, run_id)
    return _send(launches, epoch=room.epoch)


def _send_unlimited(epoch: str) -> int:
    """Send the runs waiting for an app that is disabled or gone: their task says so, and what to do."""
    unlimited = _sendable().filter(Q(next_app__isnull=True) | Q(next_app__enabled=False))
    return _send(_take(list(unlimited.order_by("pk").values_list("pk", flat=True)[:100])), epoch=epoch)


def _send(launches: list[Launch], *, epoch: str) -> int:
    if not launches:
        return 0
    sent: list[Launch] = []
    try:
        with celery_app.producer_or_acquire() as producer:
            for launch in launches:
                _chain(launch).apply_async(producer=producer, retry=False)
                sent.append(launch)
    except Exception as exc:  # kombu and redis-py raise their own kinds of connection errors
        logger.warning("Could not send %s run(s) to the queue: %s", len(launches) - len(sent), exc)
        for launch in launches[len(sent) :]:
            Run.objects.filter(pk=launch.run_id, dispatches=launch.token, status=Status.QUEUED).update(
                status=Status.PENDING
            )
        _mark_sent(sent, epoch)
        raise QueueUnavailable(f"The queue (Redis) cannot be reached: {exc}") from None
    _mark_sent(sent, epoch)
    return len(sent)


def _take(run_ids: list[int]) -> list[Launch]:
    """Mark these pending runs queued, and say where each starts; runs that are no longer pending are left out."""
    if not run_ids:
        return []
    with transaction.atomic():
        now = timezone.now()
        Run.objects.filter(pk__in=run_ids, status=Status.PENDING).update(
            status=Status.QUEUED,
            dispatches=F("dispatches") + 1,
            dispatched_at=now,
            sent_at=None,
            worker="",
            not_before=None,
        )
        # Only the runs this call took (its ``dispatched_at``): another sender that chose the same runs must not
        # send them again (two tasks of one step would then share, and free, one app slot).
        taken = Run.objects.filter(pk__in=run_ids, status=Status.QUEUED, dispatched_at=now).values_list(
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
    return _room({}).epoch


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
