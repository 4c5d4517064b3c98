"""The lists of deliveries and final MMIF, and the media list filtered by final MMIF, cost the same queries for
5 rows as for 50."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from deliverables.models import Delivery, FinalMmif
from runs.models import Status
from tests.factories import BatchFactory, MediaFileFactory, RunFactory

pytestmark = pytest.mark.django_db


def make_deliveries(n, curator):
    batch = BatchFactory()
    for _ in range(n):
        Delivery.objects.create(batch=batch, destination="catalog", target="/srv", delivered_by=curator, failures=[])


def make_finals(n, curator):
    batch = BatchFactory()
    for _ in range(n):
        run = RunFactory(batch=batch, status=Status.SUCCEEDED, final_mmif="mmif/x.mmif")
        FinalMmif.objects.create(media_file=run.media_file, pipeline=batch.pipeline, run=run, marked_by=curator)
        MediaFileFactory()  # one without


LISTS = {
    "/api/deliveries/": make_deliveries,
    "/admin/deliverables/delivery/": make_deliveries,
    "/admin/deliverables/finalmmif/": make_finals,
    "/admin/batches/mediafile/?final_mmif=yes": make_finals,
    "/admin/batches/mediafile/?final_mmif=no": make_finals,
}


def queries_for(client, url, make, n, curator) -> int:
    make(n, curator)
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured)


@pytest.mark.parametrize("url", LISTS)
def test_a_list_costs_the_same_queries_for_5_and_50_rows(url, curator_client, curator):
    few = queries_for(curator_client, url, LISTS[url], 5, curator)
    many = queries_for(curator_client, url, LISTS[url], 45, curator)

    assert few == many
