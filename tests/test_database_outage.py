"""Chowda's own database failing under a worker costs a curator nothing: no step fails, no run hangs.

A worker process reaches the test database through real faults (tests/database_faults.py): its
connections ended under it, or the database unreachable for 20 seconds. Every run then finishes.
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from runs.models import Run, Status, StepRun
from runs.services import pipeline_snapshot
from runs.workers import current_name
from tests.database_faults import DatabaseFaults
from tests.factories import BatchFactory, MediaFileFactory, PipelineFactory, PipelineStepFactory
from tests.fault_helpers import manage
from tests.live_server import database_url
from tests.runner_helpers import register, wait_for, wait_until_finished

pytestmark = pytest.mark.django_db(transaction=True)
FILES = 6


@pytest.fixture
def apps(idle_runner_apps):
    idle_runner_apps["first"][1].delay = 1.5
    return idle_runner_apps


@pytest.fixture
def database():
    faults = DatabaseFaults(database_url())
    yield faults
    faults.close()


def slow_then_quick(apps, name="Through the fault"):
    pipeline = PipelineFactory(name="Slow then quick")
    PipelineStepFactory(pipeline=pipeline, position=1, app=register(apps, "first", max_concurrency=2))
    PipelineStepFactory(pipeline=pipeline, position=2, app=register(apps, "second"))
    return BatchFactory(name=name, pipeline=pipeline, media_files=MediaFileFactory.create_batch(FILES))


def assert_every_run_succeeded(batch, faults, timeout=120):
    try:
        runs = wait_until_finished(batch, timeout=timeout)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{faults.stacks()}") from None
    assert [run.status for run in runs] == [Status.SUCCEEDED] * FILES
    assert not StepRun.objects.filter(run__batch=batch, status=Status.FAILED).exists()


def steps_at_the_slow_app(apps, batch):
    return wait_for(
        lambda: (
            apps["first"][1].in_flight == 2
            and StepRun.objects.filter(run__batch=batch, status=Status.RUNNING).count() == 2
        ),
        message="two steps at the slow app",
    )


def test_runs_finish_when_the_workers_database_connections_are_ended_mid_batch(apps, faults, database):
    redis = faults.redis(durable=True)
    batch = slow_then_quick(apps)
    worker = faults.worker(redis, "worker", env=database.worker_env())
    manage(redis.url, "start_batch", str(batch.pk))
    steps_at_the_slow_app(apps, batch)

    database.blip()

    assert_every_run_succeeded(batch, faults)
    # The steps at the app when the connections ended were sent again, not failed.
    assert StepRun.objects.filter(run__batch=batch, interruptions__gte=1).exists()
    # Nothing holds the app's room: a batch started afterwards on the same apps runs too.
    later = BatchFactory(
        name="Started after", pipeline=batch.pipeline, media_files=MediaFileFactory.create_batch(FILES)
    )
    manage(redis.url, "start_batch", str(later.pk))
    assert_every_run_succeeded(later, faults)
    assert worker.alive, worker.output()[-3000:]


def test_runs_finish_after_the_database_is_unreachable_for_twenty_seconds(apps, faults, database):
    redis = faults.redis(durable=True)
    batch = slow_then_quick(apps)
    # The default: a worker is not taken for lost during the outage, so only the steps' own handling saves them.
    faults.worker(redis, "worker", env={**database.worker_env(), "CHOWDA_WORKER_LOST_AFTER": "30"})
    manage(redis.url, "start_batch", str(batch.pk))
    steps_at_the_slow_app(apps, batch)

    database.outage(20)

    assert_every_run_succeeded(batch, faults)
    assert StepRun.objects.filter(run__batch=batch, interruptions__gte=1).exists()


def test_runs_marked_queued_or_running_that_no_worker_holds_are_sent_again(celery_worker, idle_runner_apps):
    """What a task leaves when it ends without finishing its step (its message acknowledged, its run still
    marked in flight): one run queued as if sent long ago, one running under this live worker. The
    dispatcher finds that no worker holds them and the queue does not carry them, and sends them again."""
    batch = slow_then_quick(idle_runner_apps, name="Left hanging")
    snapshot = pipeline_snapshot(batch.pipeline)
    long_ago = timezone.now() - timedelta(minutes=5)
    hanging = []
    for media_file, status in zip(batch.media_files.order_by("pk")[:2], [Status.QUEUED, Status.RUNNING], strict=True):
        run = Run.objects.create(
            batch=batch,
            media_file=media_file,
            status=status,
            pipeline_snapshot=snapshot,
            dispatches=1,
            dispatched_at=long_ago,
            sent_at=long_ago,
            worker=current_name() if status == Status.RUNNING else "",
        )
        for step in snapshot:
            first_running = status == Status.RUNNING and step["position"] == 1
            StepRun.objects.create(
                run=run,
                position=step["position"],
                app_id=step["app_id"],
                app_name=step["app_name"],
                parameters=step["parameters"],
                status=Status.RUNNING if first_running else Status.QUEUED,
                attempts=1 if first_running else 0,
            )
        hanging.append(run)

    wait_for(
        lambda: Run.objects.filter(pk__in=[run.pk for run in hanging], status=Status.SUCCEEDED).count() == 2,
        timeout=60,
        message="the hanging runs to be sent again and succeed",
    )
    assert StepRun.objects.get(run=hanging[1], position=1).interruptions == 1
    assert StepRun.objects.filter(run__in=hanging, status=Status.SUCCEEDED).count() == 4
