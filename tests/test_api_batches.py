"""Batches: writing them, their run counts, filters, and starting, cancelling and retrying them."""

import io
import zipfile

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from batches.models import Batch
from runs.models import ACTIVE_STATUSES, Run, Status
from tests.factories import (
    BatchFactory,
    ClamsAppFactory,
    MediaFileFactory,
    PipelineFactory,
    PipelineStepFactory,
    RunFactory,
    StepRunFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def pipeline():
    pipeline = PipelineFactory(name="Segments")
    PipelineStepFactory(pipeline=pipeline, position=1, app=ClamsAppFactory(name="segmenter"))
    return pipeline


def names(response):
    return [item["name"] for item in response.json()["results"]]


def test_a_batch_is_created_with_its_files_and_its_creator(api, curator, pipeline):
    files = MediaFileFactory.create_batch(3)

    response = api.post(
        "/api/batches/",
        {"name": "Nightly", "pipeline": pipeline.pk, "media_files": [f.pk for f in files]},
        format="json",
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["media_count"] == 3
    assert body["runs"] == {"pending": 0, "queued": 0, "running": 0, "succeeded": 0, "failed": 0, "cancelled": 0}
    assert body["created_by"] == "curator"
    assert "media_files" not in body
    assert Batch.objects.get().created_by == curator


def test_the_list_shows_run_counts_per_status(api, pipeline):
    files = MediaFileFactory.create_batch(4)
    batch = BatchFactory(name="Nightly", pipeline=pipeline, media_files=files)
    for media, status in zip(files, [Status.SUCCEEDED, Status.SUCCEEDED, Status.FAILED, Status.RUNNING], strict=True):
        RunFactory(batch=batch, media_file=media, status=status)

    [listed] = api.get("/api/batches/").json()["results"]

    assert listed["media_count"] == 4
    assert listed["runs"] == {"pending": 0, "queued": 0, "running": 1, "succeeded": 2, "failed": 1, "cancelled": 0}


def test_batches_are_filtered_by_pipeline_and_status(api, pipeline):
    media = MediaFileFactory()
    BatchFactory(name="new", pipeline=pipeline, media_files=[media])
    RunFactory(batch=BatchFactory(name="active", media_files=[media]), media_file=media, status=Status.RUNNING)
    RunFactory(batch=BatchFactory(name="failed", media_files=[media]), media_file=media, status=Status.FAILED)
    RunFactory(batch=BatchFactory(name="finished", media_files=[media]), media_file=media, status=Status.SUCCEEDED)

    assert names(api.get("/api/batches/", {"pipeline": pipeline.pk})) == ["new"]
    for status in ("new", "active", "failed", "finished"):
        assert names(api.get("/api/batches/", {"status": status})) == [status]
    assert api.get("/api/batches/", {"status": "done"}).json() == {
        "status": ["Select a valid choice. done is not one of the available choices."]
    }


def test_a_batch_cannot_start_from_its_own_output(api):
    batch = BatchFactory()

    response = api.patch(f"/api/batches/{batch.pk}/", {"input_batch": batch.pk}, format="json")

    assert response.status_code == 400
    assert response.json() == {"input_batch": ["A batch cannot start from its own output."]}


def test_start_says_how_many_files_started(api, pipeline):
    files = MediaFileFactory.create_batch(3)
    batch = BatchFactory(name="Nightly", pipeline=pipeline, media_files=files)
    RunFactory(batch=batch, media_file=files[0], status=Status.SUCCEEDED)

    response = api.post(f"/api/batches/{batch.pk}/start/")

    assert response.status_code == 200, response.json()
    assert response.json() == {
        "detail": "Started 2 file(s); 1 already queued, running or done.",
        "started": 2,
        "already": 1,
        "without_input": [],
        "pilot": "",
        "unstarted": 0,
        "overridden": [],
    }
    assert Run.objects.filter(batch=batch, status__in=ACTIVE_STATUSES).count() == 2


@pytest.mark.parametrize(
    ("setup", "reason"),
    [
        (
            lambda p: BatchFactory(name="Loose", pipeline=None, media_files=[MediaFileFactory()]),
            "Batch 'Loose' has no pipeline: choose one on the batch's page, then start it.",
        ),
        (
            lambda p: BatchFactory(name="Empty", pipeline=p),
            "Nothing was started: the batch has no media files; import some into it first.",
        ),
        (
            lambda p: BatchFactory(
                name="Hollow", pipeline=PipelineFactory(name="Hollow"), media_files=[MediaFileFactory()]
            ),
            "Pipeline 'Hollow' has no steps: add at least one app to it first.",
        ),
    ],
    ids=["no pipeline", "no files", "no steps"],
)
def test_start_is_a_409_with_the_reason_when_nothing_can_start(api, pipeline, setup, reason):
    batch = setup(pipeline)

    response = api.post(f"/api/batches/{batch.pk}/start/")

    assert response.status_code == 409
    assert response.json() == {"detail": reason}
    assert not Run.objects.exists()


def test_starting_a_finished_batch_again_is_a_409(api, pipeline):
    media = MediaFileFactory()
    batch = BatchFactory(name="Done", pipeline=pipeline, media_files=[media])
    RunFactory(batch=batch, media_file=media, status=Status.SUCCEEDED)

    response = api.post(f"/api/batches/{batch.pk}/start/")

    assert response.status_code == 409
    assert response.json() == {"detail": "Nothing was started: all 1 file(s) are already queued, running or done."}


def test_cancel_and_retry_say_how_many_runs_and_409_when_there_are_none(api, pipeline):
    files = MediaFileFactory.create_batch(3)
    batch = BatchFactory(name="Nightly", pipeline=pipeline, media_files=files)
    for media in files[:2]:
        run = RunFactory(batch=batch, media_file=media, status=Status.RUNNING)
        StepRunFactory(run=run, position=1, status=Status.RUNNING)
    RunFactory(batch=batch, media_file=files[2], status=Status.SUCCEEDED)

    cancelled = api.post(f"/api/batches/{batch.pk}/cancel/")
    again = api.post(f"/api/batches/{batch.pk}/cancel/")
    retried = api.post(f"/api/batches/{batch.pk}/retry-failed/")
    nothing_to_retry = api.post(f"/api/batches/{batch.pk}/retry-failed/")

    assert cancelled.json() == {"detail": "Cancelled 2 run(s).", "count": 2}
    assert again.status_code == 409
    assert again.json() == {"detail": "No run of the batch is waiting or running: nothing was cancelled."}
    assert retried.json() == {"detail": "Retried 2 failed or cancelled run(s).", "count": 2}
    assert nothing_to_retry.status_code == 409
    assert nothing_to_retry.json() == {"detail": "No run of the batch failed or was cancelled: nothing was retried."}


def test_the_zip_holds_the_final_mmif_of_every_succeeded_file(api, viewer, settings, tmp_path, pipeline):
    settings.MEDIA_ROOT = str(tmp_path)
    files = [MediaFileFactory(guid="cpb-1"), MediaFileFactory(guid="cpb-2")]
    batch = BatchFactory(name="Nightly run", pipeline=pipeline, media_files=files)
    stored = default_storage.save("runs/1.mmif", ContentFile(b'{"views": []}'))
    RunFactory(batch=batch, media_file=files[0], status=Status.SUCCEEDED, final_mmif=stored)
    RunFactory(batch=batch, media_file=files[1], status=Status.FAILED)
    api.force_authenticate(viewer)

    response = api.get(f"/api/batches/{batch.pk}/mmif.zip")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"] == 'attachment; filename="nightly-run-mmif.zip"'
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    assert archive.namelist() == ["cpb-1.mmif"]
    assert archive.read("cpb-1.mmif") == b'{"views": []}'


def test_asking_for_a_zip_explicitly_works_and_errors_stay_json(api, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    batch = BatchFactory()

    found = api.get(f"/api/batches/{batch.pk}/mmif.zip", HTTP_ACCEPT="application/zip")
    missing = api.get("/api/batches/999999/mmif.zip", HTTP_ACCEPT="application/zip")

    assert found.status_code == 200
    assert missing.status_code == 404
    assert missing["Content-Type"] == "application/json"
    assert missing.json() == {"detail": "There is no batch with id 999999."}
