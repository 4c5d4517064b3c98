"""A worker that comes up (after a deploy or an outage) sends the runs that wait at once, not a round later."""

import pytest

from runs import workers
from runs.models import Run, Status
from runs.services import batch_start
from tests.factories import BatchFactory, MediaFileFactory, PipelineFactory, PipelineStepFactory
from tests.runner_helpers import register, wait_until_finished

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("celery_worker")]


def test_a_worker_that_comes_up_sends_the_runs_that_wait_without_waiting_for_its_next_round(
    idle_runner_apps, settings, celery_worker
):
    workers.stop()  # no dispatcher runs anywhere
    pipeline = PipelineFactory(name="Tag")
    PipelineStepFactory(pipeline=pipeline, position=1, app=register(idle_runner_apps, "first"))
    files = [MediaFileFactory(guid=f"cpb-aacip-{n}") for n in (1, 2)]
    batch = BatchFactory(name="Waiting", pipeline=pipeline, media_files=files)
    window = settings.DISPATCH_WINDOW
    settings.DISPATCH_WINDOW = 0  # the start cannot send them: they wait, pending, as when Redis was down
    batch_start(batch)
    assert Run.objects.filter(batch=batch, status=Status.PENDING).count() == 2

    settings.DISPATCH_WINDOW = window
    settings.DISPATCH_INTERVAL = 3600  # its next round is an hour away
    workers.start(sender=celery_worker)

    assert {run.status for run in wait_until_finished(batch)} == {Status.SUCCEEDED}
