"""Redis going away costs a curator nothing: workers stay up, answered steps stay answered, runs wait and finish."""

import signal
import time

import pytest

from runs.models import Run, Status, StepRun
from tests.factories import BatchFactory, MediaFileFactory, PipelineFactory, PipelineStepFactory
from tests.fault_helpers import manage
from tests.runner_helpers import register, wait_for, wait_until_finished

pytestmark = pytest.mark.django_db(transaction=True)
FILES = 6


@pytest.fixture
def apps(idle_runner_apps):
    idle_runner_apps["first"][1].delay = 1.5
    return idle_runner_apps


def slow_then_quick_batch(apps):
    pipeline = PipelineFactory(name="Slow then quick")
    PipelineStepFactory(pipeline=pipeline, position=1, app=register(apps, "first", max_concurrency=2))
    PipelineStepFactory(pipeline=pipeline, position=2, app=register(apps, "second"))
    return BatchFactory(name="Through the outage", pipeline=pipeline, media_files=MediaFileFactory.create_batch(FILES))


def assert_each_file_done_once(batch, apps, faults):
    try:
        runs = wait_until_finished(batch, timeout=60)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{faults.stacks()}") from None
    assert [run.status for run in runs] == [Status.SUCCEEDED] * FILES
    assert not StepRun.objects.filter(run__batch=batch, status=Status.FAILED).exists()
    # The quick app comes after the slow one: it saw each file exactly once, so no run went on twice.
    quick = apps["second"][1]
    assert len(quick.locations) == FILES and set(quick.locations.values()) == {1}


@pytest.mark.parametrize("durable", [True, False], ids=["with persistence", "without persistence"])
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_a_worker_survives_a_redis_restart_while_it_holds_tasks(apps, faults, durable, sig):
    redis = faults.redis(durable=durable)
    batch = slow_then_quick_batch(apps)
    worker = faults.worker(redis, "worker")
    manage(redis.url, "start_batch", str(batch.pk))
    wait_for(lambda: apps["first"][1].in_flight == 2, message="two steps at the slow app")

    redis.stop(sig)
    time.sleep(3)
    redis.start(keep_data=durable)

    assert_each_file_done_once(batch, apps, faults)
    assert worker.alive, worker.output()[-3000:]
    assert "Unrecoverable error" not in worker.output()


def test_runs_finish_once_when_redis_comes_back_without_its_data(apps, faults):
    redis = faults.redis(durable=False)
    batch = slow_then_quick_batch(apps)
    worker = faults.worker(redis, "worker", concurrency=2)
    manage(redis.url, "start_batch", str(batch.pk))
    wait_for(lambda: apps["first"][1].in_flight == 2, message="two steps at the slow app")
    assert Run.objects.filter(batch=batch, status__in=[Status.PENDING, Status.QUEUED]).exists()

    redis.stop(signal.SIGKILL)
    time.sleep(2)
    redis.start(keep_data=False)

    assert_each_file_done_once(batch, apps, faults)
    assert worker.alive


def test_a_batch_started_while_redis_is_down_waits_and_then_runs(apps, faults):
    redis = faults.redis(durable=True)
    worker = faults.worker(redis, "worker")
    batch = slow_then_quick_batch(apps)
    apps["first"][1].delay = 0
    redis.stop(signal.SIGKILL)

    said = manage(redis.url, "start_batch", str(batch.pk))

    assert said.strip() == (
        f"Batch 'Through the outage': Started {FILES} file(s). They wait for the queue (Redis cannot be reached now) "
        "and start as soon as it is back."
    )
    assert Run.objects.filter(batch=batch, status=Status.PENDING).count() == FILES
    redis.start()
    assert_each_file_done_once(batch, apps, faults)
    assert worker.alive
