"""Retry failed takes the fix a curator made: the pipeline's parameters now, and the media file's location now.

Real CLAMS apps on a real worker: what failed for the old parameters or the old location succeeds on retry,
and the confirmation says, before anything runs, which parameters changed since the first attempt.
"""

import pytest
from django.urls import reverse

from pipelines.models import PipelineStep
from runs.models import Run, Status
from runs.services import batch_retry_failed, batch_start
from tests.factories import BatchFactory, MediaFileFactory, PipelineFactory, PipelineStepFactory
from tests.runner_helpers import register, wait_until_finished

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("celery_worker")]
CHANGELIST = reverse("admin:batches_batch_changelist")


def test_a_retry_runs_the_failed_step_with_the_parameters_the_pipeline_has_now(idle_runner_apps, curator_client):
    pipeline = PipelineFactory()
    PipelineStepFactory(pipeline=pipeline, position=1, app=register(idle_runner_apps, "first"), parameters={})
    exploding = PipelineStepFactory(
        pipeline=pipeline, position=2, app=register(idle_runner_apps, "second"), parameters={"explode": True}
    )
    batch = BatchFactory(name="Tuning", pipeline=pipeline, media_files=MediaFileFactory.create_batch(2))
    batch_start(batch)
    assert {run.status for run in wait_until_finished(batch)} == {Status.FAILED}

    # The curator fixes the step, as the docs say, and is shown what the retry will take before confirming.
    PipelineStep.objects.filter(pk=exploding.pk).update(parameters={"explode": False, "label": "fixed"})
    page = curator_client.post(CHANGELIST, {"action": "retry_failed", "_selected_action": [batch.pk]}).content.decode()
    assert "Parameters changed since the first attempt, and the retry takes them" in page
    assert "step 2 (second): explode True → False; step 2 (second): label (not set) → &#x27;fixed&#x27;" in page

    retried = batch_retry_failed(batch)
    runs = wait_until_finished(batch)

    assert "step 2 (second): explode True → False" in retried.sentence
    assert [run.status for run in runs] == [Status.SUCCEEDED] * 2
    assert idle_runner_apps["first"][1].requests == 2  # the step that had succeeded was kept, not run again
    assert sum("label=fixed" in query for query in idle_runner_apps["second"][1].queries) == 2
    for run in runs:
        assert run.steps.get(position=2).parameters == {"explode": False, "label": "fixed"}
        assert [s["parameters"] for s in run.pipeline_snapshot] == [{}, {"explode": False, "label": "fixed"}]


def test_a_run_that_failed_on_its_media_file_retries_at_the_location_the_curator_fixed(idle_runner_apps, tmp_path):
    pipeline = PipelineFactory()
    app = register(idle_runner_apps, "first")
    PipelineStepFactory(pipeline=pipeline, position=1, app=app, parameters={"needs_file": True})
    media = MediaFileFactory(location=f"file://{tmp_path}/moved-away.wav")
    batch = BatchFactory(pipeline=pipeline, media_files=[media])
    batch_start(batch)
    [failed] = wait_until_finished(batch)
    assert failed.status == Status.FAILED and "No such file or directory" in failed.error

    (tmp_path / "tape.wav").write_bytes(b"RIFF")
    media.location = f"file://{tmp_path}/tape.wav"
    media.save()
    retried = batch_retry_failed(batch)
    [run] = wait_until_finished(batch)

    assert run.status == Status.SUCCEEDED, run.error
    assert "1 run(s) failed before any step succeeded: they start from the media file as it is now" in retried.sentence
    assert list(idle_runner_apps["first"][1].locations) == [f"file://{tmp_path}/moved-away.wav", media.location]
    assert Run.objects.get(pk=run.pk).retry_of_id == failed.pk
