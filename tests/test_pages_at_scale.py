"""At 100,000 files a batch's pages make as many queries as at 10, and its change page stays small."""

import pytest
from django.db import connection
from django.db.models import Case, F, Value, When
from django.db.models.functions import Mod
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.test import APIClient

from batches.models import Batch, MediaFile
from chowda_site.insert_select import insert_select
from runs.models import Run, Status, StepRun
from tests.factories import BatchFactory, PipelineStepFactory

pytestmark = pytest.mark.django_db
STATUSES = [Status.PENDING, Status.QUEUED, Status.RUNNING, Status.SUCCEEDED, Status.FAILED, Status.CANCELLED]


def batch_of(step, name: str, files: int) -> Batch:
    """A batch of ``files`` media files, each with one run of one step, written in bulk."""
    MediaFile.objects.bulk_create(
        (
            MediaFile(
                guid=f"{name}-{n:06}",
                location=f"file:///m/{name}-{n}.wav",
                mime_type="audio/wav",
                document_type="audio",
            )
            for n in range(files)
        ),
        batch_size=5000,
    )
    batch = BatchFactory(name=name, pipeline=step.pipeline)
    # The database copies the rows, as a start does: bulk_create would spend half a minute here.
    mine = MediaFile.objects.filter(guid__startswith=f"{name}-").annotate(file_id=F("pk"))
    insert_select(
        Batch.media_files.through, mine.values("file_id"), {"mediafile": "file_id"}, constants={"batch": batch.pk}
    )
    by_number = Case(*(When(number=n, then=Value(status)) for n, status in enumerate(STATUSES)))
    insert_select(
        Run,
        mine.annotate(number=Mod("pk", len(STATUSES)), run_status=by_number).values("file_id", "run_status", "guid"),
        {"media_file": "file_id", "status": "run_status"},
        constants={"batch": batch.pk},
        order_by="guid",
    )
    insert_select(
        StepRun,
        Run.objects.filter(batch=batch).annotate(run_key=F("pk")).values("run_key"),
        {"run": "run_key"},
        constants={"position": 1, "app": step.app_id, "app_name": step.app.name, "status": Status.QUEUED},
    )
    return batch


@pytest.fixture(scope="module")
def small_and_huge(django_db_setup, django_db_blocker):
    """A batch of 10 files and one of 100,000, made once for this module's tests."""
    with django_db_blocker.unblock():
        step = PipelineStepFactory(position=1)
        small, huge = batch_of(step, "small", 10), batch_of(step, "huge", 100_000)
        yield small, huge
        for model in (StepRun, Run, Batch.media_files.through, Batch, MediaFile):
            # One DELETE each: the ORM's cascade would first read 100,000 runs into Python.
            model.objects.all()._raw_delete(model.objects.db)
        step.pipeline.delete()
        step.app.delete()


def queries(get, url: str) -> tuple[int, object]:
    get(url)  # once first, so one-time lookups (content types, permissions) are not counted
    with CaptureQueriesContext(connection) as captured:
        response = get(url)
    assert response.status_code == 200, url
    return len(captured), response


PAGES = [
    lambda batch: reverse("admin:batches_batch_change", args=[batch.pk]),
    lambda batch: reverse("admin:batches_batch_changelist"),
    lambda batch: reverse("admin:runs_run_changelist") + f"?batch__id__exact={batch.pk}",
    lambda batch: reverse("admin:batches_mediafile_changelist") + f"?batches__id__exact={batch.pk}",
    lambda batch: reverse("runs:batch_live", args=[batch.pk]),
]
API = [
    lambda batch: "/api/batches/",
    lambda batch: f"/api/batches/{batch.pk}/",
    lambda batch: f"/api/runs/?batch={batch.pk}",
    lambda batch: f"/api/media-files/?batch={batch.pk}",
]


@pytest.mark.parametrize("page", PAGES, ids=["batch page", "batch list", "run list", "media list", "live page"])
def test_an_admin_page_costs_the_same_queries_at_100000_files_as_at_10(small_and_huge, superuser_client, page):
    small, huge = small_and_huge

    few, _ = queries(superuser_client.get, page(small))
    many, response = queries(superuser_client.get, page(huge))

    assert many == few
    assert len(response.content) < 200_000


@pytest.mark.parametrize("endpoint", API, ids=["batches", "one batch", "runs", "media files"])
def test_an_api_list_costs_the_same_queries_at_100000_files_as_at_10(small_and_huge, superuser, endpoint):
    small, huge = small_and_huge
    api = APIClient()
    api.force_authenticate(superuser)

    few, _ = queries(api.get, endpoint(small))
    many, _ = queries(api.get, endpoint(huge))

    assert many == few


def test_the_batch_page_shows_how_many_files_and_links_to_them_instead_of_listing_them(
    small_and_huge, superuser_client
):
    _small, huge = small_and_huge

    page = superuser_client.get(reverse("admin:batches_batch_change", args=[huge.pk])).content.decode()

    assert "100000 file(s)" in page
    assert f"?batches__id__exact={huge.pk}" in page
    assert "huge-000042" not in page
