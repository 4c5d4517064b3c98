"""Runs: listing with filters and ordering, a run with its steps, MMIF downloads, cancelling one run."""

from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone
from rest_framework.test import APIClient

from runs.models import Status
from tests.factories import BatchFactory, ClamsAppFactory, MediaFileFactory, RunFactory, StepRunFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(viewer):
    client = APIClient()
    client.force_authenticate(viewer)
    return client


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)


def store(name: str, content: bytes) -> str:
    return default_storage.save(name, ContentFile(content))


def took(seconds: float) -> dict:
    start = timezone.now() - timedelta(hours=1)
    return {"started_at": start, "finished_at": start + timedelta(seconds=seconds)}


def guids(response):
    return [run["guid"] for run in response.json()["results"]]


def test_runs_are_filtered_by_batch_status_guid_and_app(api):
    whisper = ClamsAppFactory(name="whisper")
    batch = BatchFactory()
    a = RunFactory(batch=batch, media_file=MediaFileFactory(guid="cpb-a"), status=Status.SUCCEEDED)
    RunFactory(batch=batch, media_file=MediaFileFactory(guid="cpb-b"), status=Status.FAILED)
    RunFactory(media_file=MediaFileFactory(guid="cpb-c"), status=Status.SUCCEEDED)
    StepRunFactory(run=a, app=whisper, position=1)
    StepRunFactory(run=a, app=ClamsAppFactory(), position=2)

    assert guids(api.get("/api/runs/", {"batch": batch.pk})) == ["cpb-a", "cpb-b"]
    assert sorted(guids(api.get("/api/runs/", {"status": "succeeded"}))) == ["cpb-a", "cpb-c"]
    assert guids(api.get("/api/runs/", {"guid": "cpb-b"})) == ["cpb-b"]
    assert guids(api.get("/api/runs/", {"app": whisper.pk})) == ["cpb-a"]


def test_runs_are_ordered_by_start_and_duration(api):
    slow = RunFactory(media_file=MediaFileFactory(guid="cpb-slow"), status=Status.SUCCEEDED, **took(90))
    fast = RunFactory(media_file=MediaFileFactory(guid="cpb-fast"), status=Status.SUCCEEDED, **took(3))
    fast.started_at += timedelta(minutes=1)
    fast.save()

    assert guids(api.get("/api/runs/", {"ordering": "-duration"})) == ["cpb-slow", "cpb-fast"]
    assert guids(api.get("/api/runs/", {"ordering": "duration"})) == ["cpb-fast", "cpb-slow"]
    assert guids(api.get("/api/runs/", {"ordering": "-started_at"})) == ["cpb-fast", "cpb-slow"]
    [first, _] = api.get("/api/runs/", {"ordering": "-duration"}).json()["results"]
    assert first["duration"] == 90.0
    assert first["id"] == slow.pk


def test_a_run_shows_its_steps_with_status_attempts_duration_error_and_summary(api):
    run = RunFactory(media_file=MediaFileFactory(guid="cpb-1"), status=Status.FAILED, error="Step 2 failed: boom")
    summary = {"views": [{"app": "http://apps/seg", "annotations": {"TimeFrame": 3}, "warnings": []}]}
    StepRunFactory(
        run=run,
        position=1,
        app_name="segmenter",
        status=Status.SUCCEEDED,
        attempts=2,
        duration=1.5,
        summary=summary,
        output_mmif=store("s1.mmif", b"{}"),
    )
    StepRunFactory(
        run=run,
        position=2,
        app_name="asr",
        status=Status.FAILED,
        attempts=1,
        error_message="App 'asr' failed: boom",
        error_mmif=store("s2.mmif", b"{}"),
    )

    body = api.get(f"/api/runs/{run.pk}/").json()

    assert body["guid"] == "cpb-1"
    assert body["error"] == "Step 2 failed: boom"
    assert body["mmif_url"] is None
    first, second = body["steps"]
    assert (first["position"], first["app_name"], first["status"], first["attempts"]) == (
        1,
        "segmenter",
        "succeeded",
        2,
    )
    assert (first["duration"], first["summary"]) == (1.5, summary)
    assert first["mmif_url"] == f"http://testserver/api/runs/{run.pk}/steps/1/mmif/"
    assert (second["status"], second["error"]) == ("failed", "App 'asr' failed: boom")


def test_the_final_and_step_mmif_are_downloaded_as_files(api):
    media = MediaFileFactory(guid="cpb-1")
    run = RunFactory(media_file=media, status=Status.SUCCEEDED, final_mmif=store("final.mmif", b'{"final": 1}'))
    StepRunFactory(run=run, position=1, status=Status.SUCCEEDED, output_mmif=store("out.mmif", b'{"out": 1}'))
    StepRunFactory(run=run, position=2, status=Status.FAILED, error_mmif=store("err.mmif", b'{"error": 1}'))
    StepRunFactory(run=run, position=3, status=Status.SKIPPED)

    final = api.get(f"/api/runs/{run.pk}/mmif/")
    output = api.get(f"/api/runs/{run.pk}/steps/1/mmif/")
    error = api.get(f"/api/runs/{run.pk}/steps/2/mmif/")
    skipped = api.get(f"/api/runs/{run.pk}/steps/3/mmif/")
    absent = api.get(f"/api/runs/{run.pk}/steps/9/mmif/")

    assert b"".join(final.streaming_content) == b'{"final": 1}'
    assert final["Content-Disposition"] == 'attachment; filename="cpb-1.mmif"'
    assert b"".join(output.streaming_content) == b'{"out": 1}'
    assert error["Content-Disposition"] == 'attachment; filename="cpb-1.step-2.error.mmif"'
    assert skipped.status_code == 404
    assert skipped.json() == {"detail": "Step 3 has no output or error MMIF: it is skipped."}
    assert absent.json() == {"detail": "This run has no step 9."}


def test_a_run_that_has_not_succeeded_has_no_final_mmif(api):
    run = RunFactory(status=Status.RUNNING)

    response = api.get(f"/api/runs/{run.pk}/mmif/")

    assert response.status_code == 404
    assert response.json() == {"detail": "This run has no final MMIF: it has not succeeded."}


def test_a_curator_cancels_one_run_and_a_finished_one_is_a_409(curator):
    api = APIClient()
    api.force_authenticate(curator)
    running = RunFactory(status=Status.RUNNING)
    StepRunFactory(run=running, position=1, status=Status.RUNNING)
    StepRunFactory(run=running, position=2, status=Status.QUEUED)
    done = RunFactory(status=Status.SUCCEEDED)

    cancelled = api.post(f"/api/runs/{running.pk}/cancel/")
    refused = api.post(f"/api/runs/{done.pk}/cancel/")

    assert cancelled.json() == {"detail": "The run was cancelled.", "count": 1}
    running.refresh_from_db()
    assert running.status == Status.CANCELLED
    assert list(running.steps.values_list("status", flat=True)) == [Status.RUNNING, Status.SKIPPED]
    assert refused.status_code == 409
    assert refused.json() == {
        "detail": "This run has already finished (succeeded); only waiting or running runs can be cancelled."
    }
