"""Schedules: checked cron expressions, beat entries kept in step, one tick per due time, and a real beat process
that syncs a feed and starts its new files through a real CLAMS app."""

import subprocess
import sys
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from batches.models import Batch
from runs.models import Run, Status
from sources.models import MediaSource, Schedule, SourceKind
from sources.services import cron_check, schedule_save, schedule_tick, schedules_changed
from tests.factories import PipelineFactory, PipelineStepFactory
from tests.fault_helpers import chowda_env
from tests.feed_server import FeedServer
from tests.live_server import ROOT
from tests.runner_helpers import register, wait_for


@pytest.mark.parametrize(
    ("cron", "zone", "said"),
    [
        ("0 2 * *", "UTC", "'0 2 * *' has 4 field(s); a cron expression has five"),
        ("61 2 * * *", "UTC", "'61 2 * * *' is not a cron expression Chowda can read"),
        ("0 2 * * *", "Mars/Olympus", "'Mars/Olympus' is not a time zone"),
    ],
)
def test_a_bad_cron_expression_or_time_zone_is_refused_with_a_sentence(cron, zone, said):
    with pytest.raises(ValidationError) as refused:
        cron_check(cron, zone)
    assert said in " ".join(message for messages in refused.value.message_dict.values() for message in messages)


def test_the_next_three_times_are_in_the_schedule_s_time_zone():
    times = cron_check("30 2 * * *", "America/New_York")
    assert len(times) == 3
    assert all((at.hour, at.minute) == (2, 30) and str(at.tzinfo) == "America/New_York" for at in times)
    assert times[1] - times[0] in (timedelta(hours=23), timedelta(hours=24), timedelta(hours=25))


@pytest.mark.django_db
def test_a_saved_schedule_has_its_beat_entry_which_follows_it_and_goes_with_it():
    source = MediaSource.objects.create(name="feed", kind=SourceKind.HTTP_FEED, api_url="http://127.0.0.1:1/f")
    schedule = schedule_save(
        Schedule(name="nightly", cron="0 2 * * 1-5", timezone="Europe/Paris", action="sync", source=source)
    )

    task = PeriodicTask.objects.get(pk=schedule.periodic_task_id)
    assert (task.task, task.args, task.enabled) == ("sources.tick", f"[{schedule.pk}]", True)
    assert (task.crontab.minute, task.crontab.hour, task.crontab.day_of_week) == ("0", "2", "1-5")
    assert str(task.crontab.timezone) == "Europe/Paris"

    Schedule.objects.filter(pk=schedule.pk).update(enabled=False)
    schedules_changed()
    assert not PeriodicTask.objects.get(pk=task.pk).enabled

    Schedule.objects.filter(pk=schedule.pk).delete()
    schedules_changed()
    assert not PeriodicTask.objects.filter(pk=task.pk).exists()


@pytest.mark.django_db
def test_a_schedule_that_starts_new_files_needs_a_pipeline_and_files_to_take():
    with pytest.raises(ValidationError) as refused:
        schedule_save(Schedule(name="start", cron="0 2 * * *", action="start_new"))
    assert refused.value.message_dict == {
        "pipeline": ["A schedule that starts new files needs the pipeline to run."],
        "collection": ["A schedule that starts new files needs a collection or a source to take them from."],
    }
    assert not Schedule.objects.exists()


@pytest.mark.django_db
def test_a_tick_sent_twice_for_one_due_time_acts_once(runner_apps):
    """What a second beat started by mistake would do: send the same tick again."""
    with FeedServer() as feed:
        feed.items = [{"name": "cpb-aacip-1-a.mp4", "location": "https://m.example.org/1.mp4"}]
        source = MediaSource.objects.create(name="feed", kind=SourceKind.HTTP_FEED, api_url=feed.url)
        pipeline = PipelineFactory()
        PipelineStepFactory(pipeline=pipeline, position=1, app=register(runner_apps, "first"))
        schedule = schedule_save(
            Schedule(name="Nightly", cron="0 2 * * *", action="start_new", source=source, pipeline=pipeline)
        )
        due = timezone.now()

        first = schedule_tick(schedule.pk, due=due)
        again = schedule_tick(schedule.pk, due=due)

    assert first.startswith("Schedule 'Nightly' made batch 'Nightly ")
    assert again == f"Schedule 'Nightly' already ran for {due:%Y-%m-%d %H:%M}; nothing was done again."
    [batch] = Batch.objects.all()
    assert list(batch.media_files.values_list("guid", flat=True)) == ["cpb-aacip-1-a"]
    assert Schedule.objects.get(pk=schedule.pk).last_batch == batch


@pytest.mark.django_db(transaction=True)
def test_a_real_beat_syncs_the_feed_and_starts_its_new_files_then_a_tick_with_nothing_new_makes_no_batch(
    faults, runner_apps, settings, tmp_path
):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    redis = faults.redis(durable=False)
    faults.worker(redis, "worker")
    with FeedServer() as feed:
        feed.items = [
            {"name": f"cpb-aacip-7-{n}.mp4", "location": f"https://m.example.org/{n}.mp4"} for n in ("a", "b")
        ]
        source = MediaSource.objects.create(name="feed", kind=SourceKind.HTTP_FEED, api_url=feed.url)
        pipeline = PipelineFactory()
        PipelineStepFactory(pipeline=pipeline, position=1, app=register(runner_apps, "first"))
        schedule = schedule_save(
            Schedule(name="Every minute", cron="* * * * *", action="start_new", source=source, pipeline=pipeline)
        )
        # As if beat had last sent it two minutes ago: due at once, rather than at the next whole minute.
        PeriodicTask.objects.filter(pk=schedule.periodic_task_id).update(
            last_run_at=timezone.now() - timedelta(minutes=2)
        )
        beat_log = (tmp_path / "beat.log").open("w")
        beat = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "chowda_site", "beat", "--loglevel", "INFO"],
            env=chowda_env(redis.url),
            cwd=ROOT,
            stdout=beat_log,
            stderr=subprocess.STDOUT,
        )
        try:
            batch = wait_for(lambda: Batch.objects.filter(name__startswith="Every minute ").first(), 60, "a batch")
            wait_for(
                lambda: Run.objects.filter(batch=batch, status=Status.SUCCEEDED).count() == 2,
                60,
                "both new files to run through the app",
            )
            first_tick = Schedule.objects.get(pk=schedule.pk).last_due
            # The next tick, at the next whole minute: nothing is new.
            wait_for(lambda: Schedule.objects.get(pk=schedule.pk).last_due != first_tick, 90, "a second tick")
            wait_for(lambda: "no new files" in Schedule.objects.get(pk=schedule.pk).last_outcome, 30, "its outcome")
        finally:
            beat.terminate()
            beat.wait(timeout=20)
            beat_log.close()

    assert Batch.objects.count() == 1
    assert sorted(batch.media_files.values_list("guid", flat=True)) == ["cpb-aacip-7-a", "cpb-aacip-7-b"]
    assert runner_apps["first"][1].requests >= 2
