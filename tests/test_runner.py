"""Batches run through real CLAMS apps on a real Celery worker and Redis."""

import time

import pytest
from django.core.files.storage import default_storage
from mmif import Mmif

from runs import slots
from runs.execution import execute_step
from runs.models import Run, Status, StepRun
from runs.services import RunnerError, batch_cancel, batch_retry_failed, batch_start
from tests.factories import BatchFactory, MediaFileFactory, PipelineFactory, PipelineStepFactory
from tests.runner_helpers import register, wait_for, wait_until_finished

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("celery_worker")]


@pytest.fixture(autouse=True)
def runner_settings(settings, tmp_path, runner_apps):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.STEP_RETRY_BACKOFF = 0.05
    settings.STEP_MAX_ATTEMPTS = 3
    for _url, behaviour in runner_apps.values():
        # A request abandoned by an earlier test (a timeout) may still be running in the app.
        wait_for(lambda b=behaviour: b.in_flight == 0, message="the apps to finish earlier requests")
        behaviour.reset()


def make_batch(runner_apps, steps, files=5, **batch_fields):
    pipeline = PipelineFactory()
    for position, (name, parameters) in enumerate(steps, start=1):
        app = register(runner_apps, name)
        PipelineStepFactory(pipeline=pipeline, position=position, app=app, parameters=parameters)
    media = MediaFileFactory.create_batch(files)
    return BatchFactory(pipeline=pipeline, media_files=media, **batch_fields)


def read_mmif(field_file) -> Mmif:
    with default_storage.open(field_file.name) as f:
        return Mmif(f.read().decode())


def test_a_two_step_pipeline_runs_every_file_and_keeps_both_views_in_order(runner_apps):
    batch = make_batch(runner_apps, [("first", {"label": "one"}), ("second", {"label": "two"})])

    result = batch_start(batch)
    runs = wait_until_finished(batch)

    assert result.started == 5
    assert [run.status for run in runs] == [Status.SUCCEEDED] * 5
    for run in runs:
        mmif = read_mmif(run.final_mmif)
        assert [view.metadata.app for view in mmif.views] == [
            "http://apps.chowda.test/first/unresolvable",
            "http://apps.chowda.test/second/unresolvable",
        ]
        assert [view.metadata.parameters["label"] for view in mmif.views] == ["one", "two"]
        assert mmif.documents[0].location == run.media_file.location
        steps = list(run.steps.all())
        assert [(s.status, s.attempts, s.http_status) for s in steps] == [(Status.SUCCEEDED, 1, 200)] * 2
        assert steps[1].input_mmif.name == steps[0].output_mmif.name
        assert steps[0].summary["views"][0]["annotations"] == {"TimeFrame": 1}
        assert run.started_at <= run.finished_at
    assert runner_apps["first"][1].requests == 5


def test_an_app_that_raises_fails_its_step_with_its_own_message_and_skips_the_rest(runner_apps, superuser_client):
    batch = make_batch(runner_apps, [("first", {}), ("second", {"explode": True}), ("third", {})], files=1)

    batch_start(batch)
    [run] = wait_until_finished(batch)

    assert run.status == Status.FAILED
    first, second, third = run.steps.all()
    assert (first.status, second.status, third.status) == (Status.SUCCEEDED, Status.FAILED, Status.SKIPPED)
    assert second.error_message.startswith("App 'second' at ")
    assert second.error_message.endswith("failed: <class 'RuntimeError'>: CUDA out of memory")
    assert "_annotate" in second.stack_trace
    assert second.http_status == 500
    assert run.error == f"Step 2 failed: {second.error_message}"
    assert runner_apps["third"][1].requests == 0
    response = superuser_client.get(f"/runs/{run.pk}/steps/2/error.mmif")
    error_view = Mmif(b"".join(response.streaming_content).decode()).views[-1]
    assert error_view.has_error()


def test_an_app_answering_503_twice_succeeds_on_the_third_attempt(runner_apps):
    batch = make_batch(runner_apps, [("first", {})], files=1)
    runner_apps["first"][1].fail_next = 2

    batch_start(batch)
    [run] = wait_until_finished(batch)

    [step] = run.steps.all()
    assert (run.status, step.status, step.attempts) == (Status.SUCCEEDED, Status.SUCCEEDED, 3)
    assert runner_apps["first"][1].requests == 3


def test_an_app_that_stays_unavailable_fails_after_the_last_attempt_with_the_last_error(runner_apps):
    batch = make_batch(runner_apps, [("first", {})], files=1)
    runner_apps["first"][1].fail_next = 10

    batch_start(batch)
    [run] = wait_until_finished(batch)

    [step] = run.steps.all()
    assert (step.status, step.attempts, step.http_status) == (Status.FAILED, 3, 503)
    assert "answered HTTP 503 (Service Unavailable); it is busy or restarting. Gave up after 3 attempts." in (
        step.error_message
    )


@pytest.mark.parametrize(
    ("app", "message"),
    [
        ("not_json", "answered something that is not JSON: '<html>Hello</html>'."),
        ("not_mmif", "answered JSON that is not valid MMIF: "),
        ("lazy", "answered MMIF without adding a view: it did no work on this file."),
    ],
)
def test_an_app_answering_nonsense_fails_at_once_saying_what_was_wrong(runner_apps, app, message):
    batch = make_batch(runner_apps, [(app, {}), ("second", {})], files=1)

    batch_start(batch)
    [run] = wait_until_finished(batch)

    step = run.steps.get(position=1)
    assert (run.status, step.status, step.attempts) == (Status.FAILED, Status.FAILED, 1)
    assert step.error_message.startswith(f"App '{app}' at {runner_apps[app][0]} ")
    assert message in step.error_message
    assert run.steps.get(position=2).status == Status.SKIPPED


def test_an_unreachable_app_fails_after_its_attempts_saying_so(runner_apps, unreachable_url):
    batch = make_batch(runner_apps, [("first", {})], files=1)
    batch.pipeline.steps.get().app.__class__.objects.update(endpoint=unreachable_url)

    batch_start(batch)
    [run] = wait_until_finished(batch)

    [step] = run.steps.all()
    assert step.attempts == 3
    assert step.error_message == (
        f"App 'first' at {unreachable_url} cannot be reached: connection refused (is the app running, and on this "
        "port?). Gave up after 3 attempts."
    )


def test_an_app_slower_than_its_timeout_fails_with_a_read_timeout(runner_apps, settings):
    settings.STEP_MAX_ATTEMPTS = 1
    batch = make_batch(runner_apps, [("first", {})], files=1)
    batch.pipeline.steps.get().app.__class__.objects.update(timeout=1)
    runner_apps["first"][1].delay = 2

    batch_start(batch)
    [run] = wait_until_finished(batch)

    [step] = run.steps.all()
    assert step.status == Status.FAILED
    assert step.error_message.endswith("did not answer within 1 seconds (its timeout). Gave up after 1 attempts.")


def test_starting_twice_never_runs_a_file_twice(runner_apps):
    batch = make_batch(runner_apps, [("first", {})], files=3)

    first = batch_start(batch)
    second = batch_start(batch)
    wait_until_finished(batch)
    third = batch_start(batch)

    assert (first.started, second.started, second.already, third.started) == (3, 0, 3, 0)
    assert Run.objects.filter(batch=batch).count() == 3
    assert runner_apps["first"][1].requests == 3


def test_max_concurrency_one_holds_with_eight_worker_threads(runner_apps):
    batch = make_batch(runner_apps, [("first", {})], files=8)
    runner_apps["first"][1].delay = 0.1

    batch_start(batch)
    runs = wait_until_finished(batch, timeout=60)

    assert {run.status for run in runs} == {Status.SUCCEEDED}
    assert runner_apps["first"][1].max_in_flight == 1


def test_max_concurrency_lets_that_many_requests_through(runner_apps):
    batch = make_batch(runner_apps, [("first", {})], files=8)
    batch.pipeline.steps.get().app.__class__.objects.update(max_concurrency=4)
    runner_apps["first"][1].delay = 0.3

    batch_start(batch)
    wait_until_finished(batch, timeout=60)

    assert 2 <= runner_apps["first"][1].max_in_flight <= 4


def test_a_batch_can_start_from_another_batchs_output(runner_apps):
    earlier = make_batch(runner_apps, [("first", {"label": "earlier"})], files=3)
    batch_start(earlier)
    wait_until_finished(earlier)
    files = list(earlier.media_files.all())
    extra = MediaFileFactory()
    later = BatchFactory(input_batch=earlier, media_files=[*files, extra])
    PipelineStepFactory(
        pipeline=later.pipeline, position=1, app=register(runner_apps, "second"), parameters={"label": "later"}
    )

    result = batch_start(later)
    runs = wait_until_finished(later)

    assert (result.started, result.without_input) == (3, [extra.guid])
    for run in runs:
        labels = [view.metadata.parameters.get("label") for view in read_mmif(run.final_mmif).views]
        assert labels == ["earlier", "later"]
    assert runner_apps["first"][1].requests == 3


def test_a_batch_can_start_each_file_from_its_latest_mmif_of_a_pipeline_in_any_batch(runner_apps):
    earlier = make_batch(runner_apps, [("first", {"label": "earlier"})], files=2)
    batch_start(earlier)
    wait_until_finished(earlier)
    one, two = earlier.media_files.order_by("guid")
    # The same pipeline again, in another batch, for the second file only: its newer output is the one used.
    again = BatchFactory(pipeline=earlier.pipeline, media_files=[two])
    batch_start(again)
    wait_until_finished(again)
    extra = MediaFileFactory()
    later = BatchFactory(input_pipeline=earlier.pipeline, media_files=[one, two, extra])
    PipelineStepFactory(
        pipeline=later.pipeline, position=1, app=register(runner_apps, "second"), parameters={"label": "later"}
    )

    result = batch_start(later)
    runs = {run.media_file_id: run for run in wait_until_finished(later)}

    assert (result.started, result.without_input) == (2, [extra.guid])
    assert result.sentence.endswith(f"1 have no output of pipeline '{earlier.pipeline.name}' yet: {extra.guid}.")
    assert runs[one.pk].source_mmif == earlier.runs.get(media_file=one).final_mmif
    assert runs[two.pk].source_mmif == again.runs.get(media_file=two).final_mmif
    for run in runs.values():
        labels = [view.metadata.parameters.get("label") for view in read_mmif(run.final_mmif).views]
        assert labels == ["earlier", "later"]


def test_a_batch_cannot_name_both_an_input_batch_and_an_input_pipeline(api):
    earlier = BatchFactory()
    response = api.post(
        "/api/batches/",
        {"name": "Both", "input_batch": earlier.pk, "input_pipeline": earlier.pipeline.pk},
        format="json",
    )

    assert response.status_code == 400
    assert response.json() == {
        "input_pipeline": [
            "A batch starts from an input batch or from an input pipeline's latest MMIF, not both: clear one of them."
        ]
    }


def test_a_batch_without_a_pipeline_is_refused_and_nothing_is_created():
    batch = BatchFactory(pipeline=None, name="Loose", media_files=MediaFileFactory.create_batch(2))

    with pytest.raises(RunnerError, match="Batch 'Loose' has no pipeline: choose one on the batch's page"):
        batch_start(batch)

    assert not Run.objects.exists()


def test_a_pipeline_with_bad_parameters_is_refused_and_nothing_is_created(runner_apps):
    batch = make_batch(runner_apps, [("first", {"label": 3})], files=2)

    with pytest.raises(RunnerError, match=r"Step 1 \(first\): Parameter 'label' must be a string"):
        batch_start(batch)

    assert not Run.objects.exists() and not StepRun.objects.exists()


def test_cancelling_in_the_middle_stops_queued_files_and_lets_nothing_advance(runner_apps):
    batch = make_batch(runner_apps, [("first", {}), ("second", {})], files=6)
    runner_apps["first"][1].delay = 0.3

    batch_start(batch)
    wait_for(lambda: Run.objects.filter(batch=batch, status=Status.SUCCEEDED).exists(), message="a first success")
    cancelled = batch_cancel(batch)
    runs = wait_until_finished(batch)
    time.sleep(0.5)  # a step in flight may finish; nothing may start after it
    requests_after = runner_apps["first"][1].requests + runner_apps["second"][1].requests
    time.sleep(0.5)

    assert cancelled.count >= 1
    by_status = {status: [r for r in runs if r.status == status] for status in (Status.SUCCEEDED, Status.CANCELLED)}
    assert len(by_status[Status.SUCCEEDED]) + len(by_status[Status.CANCELLED]) == 6
    assert len(by_status[Status.CANCELLED]) == cancelled.count
    for run in by_status[Status.CANCELLED]:
        run.refresh_from_db()
        assert run.final_mmif.name == ""
        assert run.error == f"Batch '{batch.name}' was cancelled."
        assert {s.status for s in run.steps.all()} <= {Status.SUCCEEDED, Status.SKIPPED, Status.FAILED}
    assert runner_apps["first"][1].requests + runner_apps["second"][1].requests == requests_after
    assert runner_apps["first"][1].requests < 6


def test_retry_failed_resumes_at_the_failed_step_without_calling_earlier_apps_again(runner_apps, settings):
    settings.STEP_MAX_ATTEMPTS = 1
    batch = make_batch(runner_apps, [("first", {}), ("second", {}), ("third", {})], files=2)
    runner_apps["second"][1].fail_next = 1  # one file's second step fails for good

    batch_start(batch)
    runs = wait_until_finished(batch)
    [failed] = [run for run in runs if run.status == Status.FAILED]
    retried = batch_retry_failed(batch)
    runs = wait_until_finished(batch)

    assert retried.count == 1
    assert [run.status for run in runs] == [Status.SUCCEEDED, Status.SUCCEEDED]
    assert runner_apps["first"][1].requests == 2
    assert runner_apps["second"][1].requests == 3
    new = Run.objects.get(retry_of=failed)
    assert (new.attempt, new.superseded) == (2, False)
    failed.refresh_from_db()
    assert failed.superseded
    first_step = new.steps.get(position=1)
    assert first_step.output_mmif.name == failed.steps.get(position=1).output_mmif.name
    assert len(read_mmif(new.final_mmif).views) == 3


def test_retry_of_a_batch_without_failures_does_nothing(runner_apps):
    batch = make_batch(runner_apps, [("first", {})], files=2)
    batch_start(batch)
    wait_until_finished(batch)

    assert batch_retry_failed(batch).count == 0
    assert Run.objects.filter(batch=batch).count() == 2


def test_a_step_delivered_again_after_it_finished_is_not_sent_again(runner_apps):
    batch = make_batch(runner_apps, [("first", {})], files=1)
    batch_start(batch)
    [run] = wait_until_finished(batch)
    step = run.steps.get()

    outcome = execute_step(step.pk, run.dispatches, None)

    assert outcome.output_name is None
    assert runner_apps["first"][1].requests == 1


def test_an_app_disabled_while_its_steps_wait_is_not_called_and_the_step_says_why(runner_apps):
    batch = make_batch(runner_apps, [("first", {})], files=1)
    app = batch.pipeline.steps.get().app
    slots.acquire(app.pk, "test", limit=1)  # the step waits for this slot
    batch_start(batch)
    wait_for(lambda: Run.objects.filter(batch=batch).exists(), message="the run")
    app.__class__.objects.filter(pk=app.pk).update(enabled=False)
    slots.release(app.pk, "test")

    [run] = wait_until_finished(batch)

    [step] = run.steps.all()
    assert run.status == Status.FAILED
    assert step.error_message == "App 'first' was disabled, so it was not called; enable it, then use Retry failed."
    assert runner_apps["first"][1].requests == 0
