"""The batch report: one row per file, as CSV (streamed), in the admin and in the API, in a fixed number of queries."""

import csv
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from reports import batch_report
from tests.report_helpers import batch_with_runs

pytestmark = pytest.mark.django_db


def read_csv(response) -> list[dict]:
    text = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(text)))


def test_the_csv_has_a_row_per_file_with_each_steps_figures_and_counts_per_view(viewer_client):
    batch = batch_with_runs(4)
    app1, app2 = (s["app_name"] for s in batch.runs.first().pipeline_snapshot)

    response = viewer_client.get(reverse("reports:batch_report_csv", args=[batch.pk]))

    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert f'filename="batch-{batch.pk}-report.csv"' in response["Content-Disposition"]
    rows = read_csv(response)
    assert [row["status"] for row in rows] == ["succeeded", "failed", "running", "queued"]
    succeeded, failed = rows[0], rows[1]
    assert succeeded[f"step 1 {app1}: status"] == "succeeded"
    assert succeeded[f"step 2 {app2}: seconds"] == "4.000"
    assert succeeded[f"step 2 {app2}: annotations per view"] == "v_1: 3 TimeFrame; v_2: 2 Alignment"
    assert succeeded["attempt"] == "1"
    assert succeeded["duration_seconds"] == "10.000"
    assert failed["error"] == "Step 2 failed: App 'x' at http://x/ failed: boom"
    assert failed[f"step 2 {app2}: status"] == "failed"


def test_files_not_started_have_a_row_too(viewer_client):
    batch = batch_with_runs(3, with_runs=False)

    rows = read_csv(viewer_client.get(reverse("reports:batch_report_csv", args=[batch.pk])))

    assert [row["status"] for row in rows] == ["not started"] * 3


def count_csv_queries(client, batch) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as queries:
        rows = read_csv(client.get(reverse("reports:batch_report_csv", args=[batch.pk])))
    return len(queries), len(rows)


def test_the_csv_costs_three_queries_per_page_however_many_files(viewer_client, monkeypatch):
    monkeypatch.setattr(batch_report, "PAGE_SIZE", 100)
    small, large = batch_with_runs(10), batch_with_runs(1050)

    few, few_rows = count_csv_queries(viewer_client, small)
    many, many_rows = count_csv_queries(viewer_client, large)

    assert (few_rows, many_rows) == (10, 1050)
    # 11 pages instead of 1; each reads the files, their runs and the runs' steps.
    assert many - few == 10 * 3


def test_the_admin_page_shows_a_page_of_rows_and_links_to_the_next(viewer_client):
    batch = batch_with_runs(150)
    url = reverse("reports:batch_report", args=[batch.pk])

    first = viewer_client.get(url)
    content = first.content.decode()

    assert first.status_code == 200
    assert len(first.context["rows"]) == 100
    assert "v_1: 3 TimeFrame" in content
    assert reverse("reports:batch_report_csv", args=[batch.pk]) in content
    second = viewer_client.get(url, {"after": first.context["next_after"]})
    assert len(second.context["rows"]) == 50
    assert second.context["next_after"] is None


def test_the_admin_page_makes_as_many_queries_for_1000_files_as_for_10(viewer_client):
    small, large = batch_with_runs(10), batch_with_runs(1000)

    def queries(batch):
        with CaptureQueriesContext(connection) as captured:
            assert viewer_client.get(reverse("reports:batch_report", args=[batch.pk])).status_code == 200
        return len(captured)

    assert queries(small) == queries(large)


def test_the_batch_change_page_links_to_the_report(superuser_client):
    batch = batch_with_runs(1)

    content = superuser_client.get(reverse("admin:batches_batch_change", args=[batch.pk])).content.decode()

    assert reverse("reports:batch_report", args=[batch.pk]) in content
    assert reverse("reports:batch_report_csv", args=[batch.pk]) in content


def test_people_without_permission_to_see_runs_are_refused(client):
    from tests.factories import UserFactory

    batch = batch_with_runs(1)
    url = reverse("reports:batch_report_csv", args=[batch.pk])

    assert client.get(url).status_code == 302  # to the login page
    client.force_login(UserFactory(username="stranger"))
    assert client.get(url).status_code == 403


def test_the_api_returns_the_same_rows_paged_by_file(api, viewer):
    batch = batch_with_runs(5)
    api.force_authenticate(viewer)
    url = reverse("api:batch-report", args=[batch.pk])

    first = api.get(url, {"page_size": 3}).json()
    second = api.get(first["next"]).json()

    assert [r["status"] for r in first["results"] + second["results"]] == [
        "succeeded",
        "failed",
        "running",
        "queued",
        "succeeded",
    ]
    assert second["next"] is None
    assert first["results"][0]["steps"][1]["views"][0] == {
        "id": "v_1",
        "app": "http://apps.chowda.test/segmenter",
        "annotations": {"TimeFrame": 3},
    }
    assert [c["position"] for c in first["columns"]] == [1, 2]


def test_the_api_says_when_there_is_no_such_batch(api):
    response = api.get(reverse("api:batch-report", args=[987654]))

    assert response.status_code == 404
    assert response.json()["detail"] == "There is no batch with id 987654."


def test_the_api_makes_as_many_queries_for_500_rows_as_for_5(api):
    small, large = batch_with_runs(5), batch_with_runs(500)

    def queries(batch):
        with CaptureQueriesContext(connection) as captured:
            api.get(reverse("api:batch-report", args=[batch.pk]), {"page_size": 500})
        return len(captured)

    queries(small)  # the first request also reads the user's permissions
    assert queries(small) == queries(large)


def test_over_asgi_the_csv_is_streamed_a_page_at_a_time_from_an_async_iterator(viewer, monkeypatch, recwarn):
    from asgiref.sync import async_to_sync
    from django.test import AsyncClient

    monkeypatch.setattr(batch_report, "PAGE_SIZE", 100)
    batch = batch_with_runs(250)
    client = AsyncClient()

    async def fetch():
        await client.aforce_login(viewer)
        response = await client.get(reverse("reports:batch_report_csv", args=[batch.pk]))
        assert response.is_async
        return [chunk async for chunk in response.streaming_content]

    chunks = async_to_sync(fetch)()

    assert len(chunks) == 1 + 3  # the header, then one chunk per page of 100 rows
    assert b"".join(chunks).count(b"\n") == 251
    assert not [w for w in recwarn if "StreamingHttpResponse" in str(w.message)]
