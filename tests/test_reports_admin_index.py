"""The admin's first page shows the active batches with a progress bar and an estimate, in fixed queries."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from reports.templatetags.reports import minutes_left
from tests.report_helpers import batch_with_runs

pytestmark = pytest.mark.django_db


def index(client):
    with CaptureQueriesContext(connection) as captured:
        response = client.get(reverse("admin:index"))
    assert response.status_code == 200
    return len(captured), response.content.decode()


def test_active_batches_show_progress_and_an_estimate(viewer_client):
    batch = batch_with_runs(8)

    _, content = index(viewer_client)

    assert 'id="active-batches"' in content
    assert f'data-batch="{batch.pk}"' in content
    assert "4 of 8 finished" in content
    # 2 running and 2 queued runs, each with 1 step (running) or 2 steps (queued) of 4 s left, one at a time
    assert "about a minute left (estimate)" in content
    assert reverse("reports:app_statistics") in content


def test_the_index_costs_the_same_queries_for_one_active_batch_as_for_eight(viewer_client):
    batch_with_runs(4)
    index(viewer_client)  # the first request reads the session and permissions
    few, _ = index(viewer_client)
    for _n in range(7):
        batch_with_runs(4)

    many, content = index(viewer_client)

    assert few == many
    assert content.count("data-batch=") == 8


def test_finished_batches_are_not_listed(viewer_client):
    from runs.models import Run, Status

    batch = batch_with_runs(4)
    Run.objects.filter(batch=batch).update(status=Status.SUCCEEDED)

    _, content = index(viewer_client)

    assert "No batch is running now." in content


def test_minutes_left_reads_as_an_estimate():
    assert minutes_left(None) == "no estimate yet: these apps have no finished steps"
    assert minutes_left(30) == "about a minute left (estimate)"
    assert minutes_left(600) == "about 10 min left (estimate)"
    assert minutes_left(3 * 3600) == "about 3.0 h left (estimate)"
