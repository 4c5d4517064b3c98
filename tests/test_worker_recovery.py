"""A worker killed with SIGKILL while its steps are at their apps loses nothing: its runs are sent again."""

import time

import pytest

from runs.models import ACTIVE_STATUSES, Run, Status, StepRun
from runs.transitions import INTERRUPTED
from tests.factories import BatchFactory, MediaFileFactory, PipelineFactory, PipelineStepFactory
from tests.fault_helpers import manage
from tests.runner_helpers import register, wait_for, wait_until_finished

pytestmark = pytest.mark.django_db(transaction=True)
FILES = 6
RECOVERY_BOUND = 60  # seconds, from the new worker's start to the interrupted steps running again


@pytest.fixture
def fault_redis(faults):
    return faults.redis(durable=True)


@pytest.fixture
def apps(idle_runner_apps):
    """A slow app that takes two files at a time, then a quick one; both count the requests per file."""
    idle_runner_apps["first"][1].delay = 2.0
    return idle_runner_apps


def slow_then_quick_batch(apps) -> object:
    pipeline = PipelineFactory(name="Slow then quick")
    PipelineStepFactory(pipeline=pipeline, position=1, app=register(apps, "first", max_concurrency=2))
    PipelineStepFactory(pipeline=pipeline, position=2, app=register(apps, "second"))
    return BatchFactory(name="Overnight", pipeline=pipeline, media_files=MediaFileFactory.create_batch(FILES))


def running_steps(batch) -> list[StepRun]:
    return list(StepRun.objects.filter(run__batch=batch, status=Status.RUNNING).select_related("run__media_file"))


def assert_every_file_finished_once_per_app(batch, apps, interrupted: list[StepRun]):
    runs = wait_until_finished(batch, timeout=60)
    assert [run.status for run in runs] == [Status.SUCCEEDED] * FILES
    assert not Run.objects.filter(batch=batch, status__in=ACTIVE_STATUSES).exists()
    slow, quick = apps["first"][1], apps["second"][1]
    # The quick app ran after every slow step that succeeded: it never saw a file twice.
    assert len(quick.locations) == FILES and set(quick.locations.values()) == {1}
    interrupted_files = {step.run.media_file.location for step in interrupted}
    for location, calls in slow.locations.items():
        assert calls == (2 if location in interrupted_files else 1), location
    for step in interrupted:
        step.refresh_from_db()
        assert (step.status, step.interruptions, step.attempts) == (Status.SUCCEEDED, 1, 2)


def test_a_new_worker_runs_again_the_steps_a_killed_worker_had_at_its_apps(apps, faults, fault_redis):
    batch = slow_then_quick_batch(apps)
    first = faults.worker(fault_redis, "first")
    manage(fault_redis.url, "start_batch", str(batch.pk))
    interrupted = wait_for(
        lambda: apps["first"][1].in_flight == 2 and len(running_steps(batch)) == 2 and running_steps(batch),
        message="two slow steps at their app",
    )

    first.kill()
    time.sleep(1)
    faults.worker(fault_redis, "second")
    started = time.monotonic()
    again = StepRun.objects.filter(pk__in=[step.pk for step in interrupted], interruptions=1, attempts=2)
    wait_for(lambda: again.count() == 2, timeout=RECOVERY_BOUND, message="the interrupted steps to run again")
    recovered_in = time.monotonic() - started

    assert recovered_in < RECOVERY_BOUND
    assert_every_file_finished_once_per_app(batch, apps, interrupted)
    assert StepRun.objects.filter(error_message=INTERRUPTED).count() == 0  # the message goes once they succeed


def test_the_other_live_worker_takes_over_without_a_new_one(apps, faults, fault_redis):
    batch = slow_then_quick_batch(apps)
    doomed = faults.worker(fault_redis, "doomed", concurrency=1)
    manage(fault_redis.url, "start_batch", str(batch.pk))
    interrupted = wait_for(
        lambda: apps["first"][1].in_flight == 1 and running_steps(batch), message="a slow step at its app"
    )
    survivor = faults.worker(fault_redis, "survivor")

    doomed.kill()

    assert_every_file_finished_once_per_app(batch, apps, interrupted[:1])
    assert survivor.alive
