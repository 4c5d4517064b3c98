"""What the admin, the API, the commands and the schedules do with media sources: each returns its sentence."""

import json
import zoneinfo
from dataclasses import dataclass
from datetime import datetime, timedelta

from croniter import CroniterError, croniter
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from background.dispatcher import jobs_add
from background.models import ACTIVE_JOB_STATUSES, BackgroundJob
from batches.models import Batch, MediaFile
from batches.services import add_media_files
from runs.models import Run, Status
from runs.services import RunnerError, batch_start
from sources.live import sync_changed
from sources.models import MediaSource, Schedule, ScheduleAction, SyncRun, SyncStatus
from sources.sync import sync_run

SYNC_KIND = "sync"


class SourceError(Exception):
    """What cannot be done, as the sentence every door shows."""


@dataclass(frozen=True)
class SyncAsked:
    sync: SyncRun
    sentence: str
    # False: a sync of the source was already waiting or running (``sync`` is that one).
    started: bool = True


def source_sync(source: MediaSource, *, trigger: str, user=None, in_background: bool = True) -> SyncAsked:
    """Record a sync of the source, done by the background queue's workers (or, not ``in_background``, by the
    caller: sources.sync.sync_run); one per source at a time.

    With a ``user``, they need the permission to change media sources. Raises SourceError for a disabled source.
    """
    if user is not None and not user.has_perm("sources.change_mediasource"):
        raise PermissionDenied("You may not sync media sources: ask an admin for the Curators role.")
    if not source.enabled:
        raise SourceError(f"Source '{source.name}' is disabled: enable it, then sync it.")
    try:
        with transaction.atomic():
            sync = SyncRun.objects.create(source=source, trigger=trigger[:200], started_by=user)
            sync_changed(sync.pk)
            if in_background:
                jobs_add(SYNC_KIND, SyncRun.objects.filter(pk=sync.pk))
    except IntegrityError:
        running = SyncRun.objects.filter(source=source, status__in=[SyncStatus.PENDING, SyncStatus.RUNNING]).first()
        if running is None or _abandoned(running):  # it ended meanwhile, or never will: ask again
            return source_sync(source, trigger=trigger, user=user, in_background=in_background)
        return SyncAsked(
            running,
            f"Source '{source.name}' is already being synced (sync {running.pk}, {running.get_status_display().lower()}"
            "); nothing new was started. Its page shows its progress.",
            started=False,
        )
    if not in_background:
        return SyncAsked(sync, f"Syncing source '{source.name}' (sync {sync.pk}).")
    return SyncAsked(sync, f"Syncing source '{source.name}' in the background (sync {sync.pk}).")


# A sync done by a command (not a background job) that has not finished a page for this long was abandoned.
SYNC_SILENT_AFTER = timedelta(minutes=15)


def _abandoned(sync: SyncRun) -> bool:
    """Whether an active sync will never end by itself (its background job failed or is gone, or the command that
    did it went silent); if so it is marked failed, with a sentence, so that a new one can start."""
    job = BackgroundJob.objects.filter(kind=SYNC_KIND, target=sync.pk).order_by("-pk").first()
    if job is not None:
        lost = job.status not in ACTIVE_JOB_STATUSES
    else:
        lost = (sync.heartbeat_at or sync.created_at) < timezone.now() - SYNC_SILENT_AFTER
    if not lost:
        return False
    why = job.error if job is not None and job.error else "its worker or command stopped"
    SyncRun.objects.filter(pk=sync.pk, status__in=[SyncStatus.PENDING, SyncStatus.RUNNING]).update(
        status=SyncStatus.FAILED,
        finished_at=timezone.now(),
        sentence=f"The sync stopped before it finished ({why.rstrip('.')}); nothing was marked missing.",
    )
    sync_changed(sync.pk)
    return True


def cron_check(expression: str, zone: str) -> list[datetime]:
    """The next three times of a five-field cron expression in a time zone; ValidationError with a sentence."""
    try:
        tz = zoneinfo.ZoneInfo(zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValidationError(
            {"timezone": f"{zone!r} is not a time zone: use a name such as UTC or America/New_York."}
        ) from None
    fields = expression.split()
    if len(fields) != 5:
        raise ValidationError(
            {
                "cron": f"{expression!r} has {len(fields)} field(s); a cron expression has five: minute, hour, "
                "day of month, month and day of week, as in '0 2 * * *' (2 a.m. every day)."
            }
        )
    try:
        times = croniter(expression, timezone.now().astimezone(tz))
        return [times.get_next(datetime) for _ in range(3)]
    except (CroniterError, ValueError, KeyError) as exc:
        raise ValidationError(
            {"cron": f"{expression!r} is not a cron expression Chowda can read ({exc}): as in '0 2 * * *'."}
        ) from None


def schedule_check(schedule: Schedule) -> None:
    """Every rule a schedule must meet, as sentences per field (ValidationError)."""
    errors = {}
    try:
        cron_check(schedule.cron, schedule.timezone)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if schedule.action == ScheduleAction.SYNC and not schedule.source_id:
        errors["source"] = ["A schedule that syncs needs the source to sync."]
    if schedule.action == ScheduleAction.START_NEW:
        if not schedule.pipeline_id:
            errors["pipeline"] = ["A schedule that starts new files needs the pipeline to run."]
        if not (schedule.source_id or schedule.collection_id):
            errors["collection"] = [
                "A schedule that starts new files needs a collection or a source to take them from."
            ]
    if not isinstance(schedule.overrides, dict) or not all(
        str(key).isdigit() and isinstance(value, dict) for key, value in (schedule.overrides or {}).items()
    ):
        errors["overrides"] = ['Overrides map a step position to its parameters: {"1": {"threshold": "0.5"}}.']
    if errors:
        raise ValidationError(errors)


def schedule_save(schedule: Schedule) -> Schedule:
    """Check and save the schedule, and keep its beat entry (django-celery-beat's PeriodicTask) in step."""
    from django_celery_beat.models import CrontabSchedule, PeriodicTask

    schedule_check(schedule)
    minute, hour, day_of_month, month, day_of_week = schedule.cron.split()
    with transaction.atomic():
        schedule.save()
        crontab, _ = CrontabSchedule.objects.get_or_create(
            minute=minute,
            hour=hour,
            day_of_month=day_of_month,
            month_of_year=month,
            day_of_week=day_of_week,
            timezone=schedule.timezone,
        )
        task = schedule.periodic_task or PeriodicTask(name=f"chowda-schedule-{schedule.pk}")
        task.task = "sources.tick"
        task.crontab = crontab
        task.args = json.dumps([schedule.pk])
        task.enabled = schedule.enabled
        task.description = f"Chowda schedule '{schedule.name}'"
        task.save()
        if schedule.periodic_task_id != task.pk:
            schedule.periodic_task = task
            Schedule.objects.filter(pk=schedule.pk).update(periodic_task=task)
    return schedule


def schedules_changed() -> None:
    """After bulk changes to schedules (enable, disable, delete): beat reads its entries again."""
    from django_celery_beat.models import PeriodicTask, PeriodicTasks

    PeriodicTask.objects.filter(name__startswith="chowda-schedule-").exclude(
        pk__in=Schedule.objects.exclude(periodic_task=None).values("periodic_task")
    ).delete()
    for schedule in Schedule.objects.exclude(periodic_task=None).select_related("periodic_task"):
        if schedule.periodic_task.enabled != schedule.enabled:
            PeriodicTask.objects.filter(pk=schedule.periodic_task_id).update(enabled=schedule.enabled)
    PeriodicTasks.update_changed()


def next_times(schedule: Schedule) -> list[datetime]:
    try:
        return cron_check(schedule.cron, schedule.timezone)
    except ValidationError:
        return []


def schedule_tick(schedule_id: int, *, due: datetime | None = None) -> str:
    """What a schedule does when it is due, once per due time however many beats send it; returns its outcome."""
    due = (due or timezone.now()).replace(second=0, microsecond=0)
    schedule = Schedule.objects.select_related("source", "collection", "pipeline").filter(pk=schedule_id).first()
    if schedule is None or not schedule.enabled:
        return "The schedule is gone or disabled; nothing was done."
    # The tick of this due minute is taken by one beat's message only: a second beat finds it taken.
    taken = (
        Schedule.objects.filter(pk=schedule.pk)
        .exclude(last_due__gte=due)
        .update(last_due=due, last_ran_at=timezone.now())
    )
    if not taken:
        return f"Schedule '{schedule.name}' already ran for {due:%Y-%m-%d %H:%M}; nothing was done again."
    try:
        if schedule.action == ScheduleAction.SYNC:
            asked = source_sync(schedule.source, trigger=f"schedule '{schedule.name}'")
            outcome, fields = asked.sentence, {"last_sync": asked.sync}
        else:
            batch, outcome = start_new_files(schedule, due)
            fields = {"last_batch": batch} if batch else {}
    except (SourceError, RunnerError) as exc:
        outcome, fields = str(exc), {}
    Schedule.objects.filter(pk=schedule.pk).update(last_outcome=outcome, **fields)
    return outcome


def files_never_run(schedule: Schedule):
    """The files a start-new schedule takes (of its collection, else of its source) that have no succeeded run of
    its pipeline and are not missing at the source."""
    if schedule.collection_id:
        files = MediaFile.objects.filter(collections=schedule.collection_id)
    else:
        files = MediaFile.objects.filter(source_items__source=schedule.source_id)
    done = Run.objects.filter(media_file=OuterRef("pk"), batch__pipeline=schedule.pipeline_id, status=Status.SUCCEEDED)
    # Nor files already waiting or running in another batch of the pipeline: they will succeed there.
    waiting = Run.objects.filter(
        media_file=OuterRef("pk"),
        batch__pipeline=schedule.pipeline_id,
        status__in=[Status.PENDING, Status.QUEUED, Status.RUNNING],
    )
    return files.filter(missing_since__isnull=True).exclude(Exists(done)).exclude(Exists(waiting))


def start_new_files(schedule: Schedule, due: datetime) -> tuple[Batch | None, str]:
    """A new batch of the files never run through the schedule's pipeline, started; no batch when there are none.

    Files of a source: the source is synced first, here, so what it lists now is what is new; if that sync fails,
    nothing is started (the outcome says why).
    """
    if schedule.source_id and not schedule.collection_id:
        asked = source_sync(schedule.source, trigger=f"schedule '{schedule.name}'", in_background=False)
        if asked.started:
            done = sync_run(asked.sync.pk)
            if done is not None and done.status != SyncStatus.SUCCEEDED:
                return (
                    None,
                    f"Schedule '{schedule.name}' started nothing, as the sync of its source failed: {done.sentence}",
                )
    ids = list(files_never_run(schedule).values_list("pk", flat=True))
    if not ids:
        return None, f"Schedule '{schedule.name}': no new files to start; no batch was made."
    local = due.astimezone(zoneinfo.ZoneInfo(schedule.timezone))
    with transaction.atomic():
        batch = Batch.objects.create(
            name=f"{schedule.name} {local:%Y-%m-%d %H:%M}",
            pipeline=schedule.pipeline,
            description=f"Made by schedule '{schedule.name}' from {len(ids)} file(s) not yet run.",
            created_by=schedule.created_by,
        )
        add_media_files(batch, ids)
    overrides = {int(position): values for position, values in (schedule.overrides or {}).items()}
    result = batch_start(batch, overrides=overrides or None)
    return batch, f"Schedule '{schedule.name}' made batch '{batch.name}': {result.sentence}"
