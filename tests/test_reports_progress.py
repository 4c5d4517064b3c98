"""Progress inside a step: an estimate from the app's recent steps, or the app's own figure where it reports one."""

import pytest
from django.utils import timezone

from clams_apps.services import app_register
from runs import live
from runs.estimates import Expectations
from runs.models import Run, Status, StepRun
from runs.progress import progress_path, reported_progress
from runs.services import batch_start
from tests.factories import BatchFactory, ClamsAppFactory, MediaFileFactory, PipelineFactory, PipelineStepFactory
from tests.progress_test_app import SlowSegmenter, serve_reporting
from tests.report_helpers import batch_with_runs
from tests.runner_helpers import wait_for, wait_until_finished


def finished_steps(app, version, parameters, durations):
    run = Run.objects.create(batch=BatchFactory(), media_file=MediaFileFactory(), status=Status.SUCCEEDED)
    StepRun.objects.bulk_create(
        StepRun(
            run=run,
            position=i + 1,
            app=app,
            app_name=app.name,
            app_version=version,
            parameters=parameters,
            status=Status.SUCCEEDED,
            duration=d,
            finished_at=timezone.now(),
        )
        for i, d in enumerate(durations)
    )


@pytest.mark.django_db
def test_the_estimate_is_taken_from_the_same_version_and_parameters_when_there_are_enough():
    app = ClamsAppFactory()
    finished_steps(app, "v2", {"mode": "accurate"}, [100, 110, 120])
    finished_steps(app, "v2", {"mode": "fast"}, [10, 11, 12])
    finished_steps(app, "v1", {"mode": "fast"}, [50])

    expectations = Expectations([app.pk])

    accurate = expectations.expected(app.pk, "v2", {"mode": "accurate"})
    assert (accurate.seconds, accurate.basis) == (110, "this version with these parameters")
    other = expectations.expected(app.pk, "v2", {"mode": "other"})
    assert (other.seconds, other.basis) == (56.0, "this version")
    v1 = expectations.expected(app.pk, "v1", {"mode": "fast"})
    assert v1.basis == "any version"  # one step of v1 is too few
    assert expectations.expected(ClamsAppFactory().pk) is None


@pytest.mark.django_db
def test_the_batch_snapshot_sends_each_steps_expected_duration_for_the_running_cells(viewer_client):
    batch = batch_with_runs(4, steps=1)

    snapshot = live.batch_snapshot(batch)

    assert snapshot["columns"][0]["expected"] == 4.0
    running = next(row for row in snapshot["rows"] if row["run"]["status"] == "running")
    assert running["steps"]["1"]["status"] == "succeeded"  # the helper's first steps have finished


@pytest.mark.django_db
def test_an_app_that_does_not_declare_the_extension_is_never_asked():
    assert progress_path({"name": "x"}) is None
    assert progress_path({"more": {"chowda.progress": "progress"}}) == "progress"


def test_a_silent_or_broken_progress_endpoint_means_no_figure(unreachable_url, settings):
    settings.APP_PROGRESS_TIMEOUT = 0.5

    assert reported_progress(unreachable_url, "progress", "file:///m/a.wav") is None


@pytest.fixture
def slow_app():
    app = SlowSegmenter()
    served = serve_reporting(app)
    yield app, served.url
    app.release.set()
    served.stop()


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("celery_worker")
def test_a_running_step_shows_the_figure_the_app_reports(slow_app, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    app, url = slow_app
    registered = app_register(url, name="slow")
    pipeline = PipelineFactory()
    PipelineStepFactory(pipeline=pipeline, position=1, app=registered, parameters={})
    media = MediaFileFactory(location="file:///media/slow.wav", mime_type="audio/wav", document_type="audio")
    batch = BatchFactory(pipeline=pipeline, media_files=[media])

    batch_start(batch)
    wait_for(lambda: StepRun.objects.filter(run__batch=batch, status=Status.RUNNING).exists(), message="the step")
    wait_for(lambda: app.working_on, message="the app to start")

    [row] = live.batch_snapshot(batch)["rows"]
    run_steps = live.run_snapshot(Run.objects.get(batch=batch))["steps"]
    app.release.set()
    runs = wait_until_finished(batch)

    assert row["steps"]["1"]["reported"] == {"progress": 0.5, "message": "half way"}
    assert run_steps[0]["reported"] == {"progress": 0.5, "message": "half way"}
    assert runs[0].status == Status.SUCCEEDED
    assert runs[0].steps.get().app_version == "v2"


@pytest.mark.django_db
def test_with_the_medias_length_known_the_estimate_is_per_second_of_media():
    app = ClamsAppFactory()
    for seconds_of_media in (60, 120, 600):
        run = Run.objects.create(
            batch=BatchFactory(), media_file=MediaFileFactory(duration=seconds_of_media), status=Status.SUCCEEDED
        )
        StepRun.objects.create(
            run=run,
            position=1,
            app=app,
            app_name=app.name,
            app_version="v1",
            status=Status.SUCCEEDED,
            duration=seconds_of_media / 2,
            finished_at=timezone.now(),
        )

    expectations = Expectations([app.pk])

    long = expectations.expected(app.pk, "v1", {}, media_seconds=3600)
    assert (long.seconds, long.basis) == (1800, "this version with these parameters per second of media")
    unknown = expectations.expected(app.pk, "v1", {})
    assert (unknown.seconds, unknown.basis) == (60, "this version with these parameters")


@pytest.mark.django_db
def test_a_wav_files_duration_is_read_from_its_header(tmp_path):
    import wave

    from django.core.management import call_command

    from batches.durations import media_seconds

    path = tmp_path / "one.wav"
    with wave.open(str(path), "wb") as audio:
        audio.setnchannels(1)
        audio.setsampwidth(2)
        audio.setframerate(8000)
        audio.writeframes(b"\0\0" * 8000 * 3)
    media = MediaFileFactory(location=f"file://{path}", mime_type="audio/wav", document_type="audio")
    remote = MediaFileFactory(location="https://media.archive.test/x.mp4")
    batch = BatchFactory(media_files=[media, remote])

    call_command("probe_durations", "--batch", str(batch.pk), "--now")

    media.refresh_from_db()
    remote.refresh_from_db()
    assert media.duration == pytest.approx(3.0)
    assert remote.duration is None
    assert media_seconds(f"file://{tmp_path}/missing.wav") is None


@pytest.mark.django_db
def test_a_running_cell_of_a_file_of_known_length_gets_its_own_expected_duration():
    from batches.models import MediaFile

    batch = batch_with_runs(12, steps=2)
    MediaFile.objects.filter(batches=batch).update(duration=100)
    long_file = Run.objects.filter(batch=batch, status=Status.RUNNING).first().media_file
    MediaFile.objects.filter(pk=long_file.pk).update(duration=200)

    snapshot = live.batch_snapshot(batch)

    rows = {row["guid"]: row for row in snapshot["rows"]}
    assert rows[long_file.guid]["steps"]["2"]["expected"] == pytest.approx(8.0)  # 4 s per 100 s of media
    assert snapshot["columns"][1]["expected"] == 4.0
