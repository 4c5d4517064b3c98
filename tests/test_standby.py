"""An app at its limit keeps one run on standby in a worker, which takes the app's next free slot at once."""

import pytest

from runs import slots
from runs.models import Run, Status
from runs.services import batch_cancel, batch_start
from tests.factories import BatchFactory, MediaFileFactory, PipelineFactory, PipelineStepFactory
from tests.runner_helpers import register, wait_for, wait_until_finished

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("celery_worker")]


@pytest.fixture(autouse=True)
def runner_settings(settings, tmp_path, runner_apps):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.STANDBY = True
    for _url, behaviour in runner_apps.values():
        wait_for(lambda b=behaviour: b.in_flight == 0, message="the apps to finish earlier requests")
        behaviour.reset()


def one_file_batch(runner_apps, limit=1):
    app = register(runner_apps, "first")
    app.max_concurrency = limit
    app.save(update_fields=["max_concurrency"])
    pipeline = PipelineFactory()
    PipelineStepFactory(pipeline=pipeline, position=1, app=app, parameters={})
    return BatchFactory(pipeline=pipeline, media_files=MediaFileFactory.create_batch(1)), app


def on_standby(app, batch):
    run = Run.objects.filter(batch=batch).first()
    return run is not None and slots.standing_by(app.pk, run.pk) and run


def test_a_run_waiting_on_standby_takes_the_slot_the_moment_it_frees_and_never_passes_the_limit(runner_apps):
    batch, app = one_file_batch(runner_apps)
    slots.acquire(app.pk, "another-call", limit=1)  # the app is full
    try:
        batch_start(batch)
        run = wait_for(lambda: on_standby(app, batch), message="the run to be on standby for the full app")
        run.refresh_from_db()
        assert run.status == Status.QUEUED  # sent to a worker, waiting there
        assert runner_apps["first"][1].requests == 0
    finally:
        slots.release(app.pk, "another-call")

    [run] = wait_until_finished(batch)

    assert run.status == Status.SUCCEEDED
    assert runner_apps["first"][1].requests == 1
    assert not slots.standing_by(app.pk, run.pk)


def test_a_run_cancelled_on_standby_is_never_called_and_leaves_no_standby_behind(runner_apps):
    batch, app = one_file_batch(runner_apps)
    slots.acquire(app.pk, "another-call", limit=1)
    try:
        batch_start(batch)
        run = wait_for(lambda: on_standby(app, batch), message="the run to be on standby for the full app")
        batch_cancel(batch)
        wait_for(lambda: not slots.standing_by(app.pk, run.pk), message="the standby to end with the cancel")
    finally:
        slots.release(app.pk, "another-call")

    run.refresh_from_db()
    assert run.status == Status.CANCELLED
    assert runner_apps["first"][1].requests == 0
    # The slot it would have taken is still free for the next run.
    assert slots.acquire(app.pk, "the-next-call", limit=1)
    slots.release(app.pk, "the-next-call")


def test_a_run_whose_standby_runs_out_goes_back_to_waiting_and_runs_when_the_app_frees(runner_apps, settings):
    settings.STANDBY_WAIT = 0.5
    batch, app = one_file_batch(runner_apps)
    slots.acquire(app.pk, "another-call", limit=1)
    try:
        batch_start(batch)
        wait_for(lambda: on_standby(app, batch), message="the run to be on standby for the full app")
        # Its standby ran out: the run waits as pending for the app again, and nothing called the app.
        wait_for(
            lambda: Run.objects.filter(batch=batch, status=Status.PENDING, next_app=app).exists(),
            message="the run to go back to pending",
        )
        assert runner_apps["first"][1].requests == 0
    finally:
        slots.release(app.pk, "another-call")

    [run] = wait_until_finished(batch)
    assert run.status == Status.SUCCEEDED
    assert runner_apps["first"][1].requests == 1
