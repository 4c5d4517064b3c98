"""Batches share the workers fairly, and a cancelled big batch is out of everyone's way at once."""

import time

import pytest

from batches.models import Batch, MediaFile
from runs.models import ACTIVE_STATUSES, Run, Status, StepRun
from runs.services import batch_cancel, batch_start
from tests.factories import BatchFactory, PipelineFactory, PipelineStepFactory
from tests.runner_helpers import register, wait_for, wait_until_finished

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("celery_worker")]


@pytest.fixture
def tagger(idle_runner_apps):
    idle_runner_apps["first"][1].delay = 0.02
    pipeline = PipelineFactory(name="Tag")
    PipelineStepFactory(pipeline=pipeline, position=1, app=register(idle_runner_apps, "first", max_concurrency=4))
    return pipeline


def batch_of(pipeline, name: str, files: int) -> Batch:
    """A batch of ``files`` new media files, written in bulk."""
    media = MediaFile.objects.bulk_create(
        MediaFile(
            guid=f"{name}-{n:06}", location=f"file:///m/{name}-{n}.mp4", mime_type="video/mp4", document_type="video"
        )
        for n in range(files)
    )
    batch = BatchFactory(name=name, pipeline=pipeline)
    Batch.media_files.through.objects.bulk_create(
        Batch.media_files.through(batch_id=batch.pk, mediafile_id=m.pk) for m in media
    )
    return batch


def settle():
    """Let the steps still at the app finish, so the worker is idle when the test's data is flushed."""
    wait_for(lambda: not StepRun.objects.filter(status=Status.RUNNING).exists(), message="the last steps to end")
    time.sleep(0.5)


def test_a_small_batch_started_after_a_big_one_on_the_same_app_finishes_before_half_of_it(tagger):
    big = batch_of(tagger, "big", 2000)
    small = batch_of(tagger, "small", 10)
    batch_start(big)
    wait_for(lambda: Run.objects.filter(batch=big, status=Status.SUCCEEDED).exists(), message="the big batch to run")

    batch_start(small)
    small_runs = wait_until_finished(small, timeout=120)

    big_done = Run.objects.filter(batch=big, status=Status.SUCCEEDED).count()
    assert [run.status for run in small_runs] == [Status.SUCCEEDED] * 10
    assert big_done < 1000
    batch_cancel(big)
    settle()


def test_cancelling_a_10000_file_batch_leaves_nothing_pending_and_the_next_batch_starts_at_once(tagger):
    big = batch_of(tagger, "huge", 10_000)
    batch_start(big)
    wait_for(lambda: Run.objects.filter(batch=big, status=Status.SUCCEEDED).exists(), message="the batch to run")

    result = batch_cancel(big)

    assert result.count > 9_000
    assert not Run.objects.filter(batch=big, status=Status.PENDING).exists()
    assert Run.objects.filter(batch=big, status__in=ACTIVE_STATUSES).count() == 0
    next_batch = batch_of(tagger, "next", 3)
    started = time.monotonic()
    batch_start(next_batch)
    wait_for(
        lambda: Run.objects.filter(batch=next_batch, status__in=[Status.RUNNING, Status.SUCCEEDED]).exists(),
        timeout=10,
        message="the next batch's first file to start",
    )
    assert time.monotonic() - started < 10
    assert [run.status for run in wait_until_finished(next_batch)] == [Status.SUCCEEDED] * 3
    settle()
