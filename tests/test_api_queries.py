"""No list makes a query per row: 5 and 50 objects cost the same number of queries."""

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from runs.models import Status
from tests.factories import (
    BatchFactory,
    ClamsAppFactory,
    CollectionFactory,
    MediaFileFactory,
    PipelineFactory,
    PipelineStepFactory,
    RunFactory,
    StepRunFactory,
)

pytestmark = pytest.mark.django_db


def make_apps(n):
    ClamsAppFactory.create_batch(n)


def make_pipelines(n):
    app = ClamsAppFactory()
    for _ in range(n):
        pipeline = PipelineFactory()
        PipelineStepFactory(pipeline=pipeline, position=1, app=app)
        PipelineStepFactory(pipeline=pipeline, position=2, app=ClamsAppFactory())


def make_media_files(n):
    collection = CollectionFactory()
    collection.media_files.add(*MediaFileFactory.create_batch(n))


def make_collections(n):
    files = MediaFileFactory.create_batch(3)
    for _ in range(n):
        CollectionFactory(media_files=files)


def make_batches(n):
    files = MediaFileFactory.create_batch(2)
    for _ in range(n):
        batch = BatchFactory(media_files=files, created_by=None)
        RunFactory(batch=batch, media_file=files[0], status=Status.SUCCEEDED)
        RunFactory(batch=batch, media_file=files[1], status=Status.FAILED)


def make_runs(n):
    batch = BatchFactory()
    for _ in range(n):
        run = RunFactory(
            batch=batch, status=Status.SUCCEEDED, final_mmif=default_storage.save("f.mmif", ContentFile(b"{}"))
        )
        StepRunFactory(run=run, position=1)


LISTS = {
    "/api/apps/": make_apps,
    "/api/pipelines/": make_pipelines,
    "/api/media-files/": make_media_files,
    "/api/collections/": make_collections,
    "/api/batches/": make_batches,
    "/api/runs/": make_runs,
}


def queries_for(api, url, make, n):
    make(n)
    with CaptureQueriesContext(connection) as captured:
        response = api.get(url, {"page_size": 100})
    assert response.status_code == 200
    assert response.json()["count"] >= n
    return len(captured)


@pytest.mark.parametrize("url", LISTS)
def test_a_list_costs_the_same_queries_for_5_and_50_rows(url, superuser, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    api = APIClient()
    api.force_authenticate(superuser)
    few = queries_for(api, url, LISTS[url], 5)
    many = queries_for(api, url, LISTS[url], 45)  # 50 in all

    assert few == many
