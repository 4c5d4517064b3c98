"""The live batch and run pages as served over HTTP: content, permissions and a fixed number of queries."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from runs.models import Run, Status, StepRun
from tests.factories import BatchFactory, MediaFileFactory, PipelineStepFactory

pytestmark = pytest.mark.django_db


def batch_with_runs(n: int, steps: int = 2):
    first = PipelineStepFactory(position=1)
    for position in range(2, steps + 1):
        PipelineStepFactory(pipeline=first.pipeline, position=position)
    media = MediaFileFactory.create_batch(n)
    batch = BatchFactory(pipeline=first.pipeline, media_files=media)
    statuses = [Status.SUCCEEDED, Status.FAILED, Status.RUNNING, Status.QUEUED]
    runs = Run.objects.bulk_create(Run(batch=batch, media_file=m, status=statuses[i % 4]) for i, m in enumerate(media))
    StepRun.objects.bulk_create(
        StepRun(
            run=run,
            position=p,
            app=first.app,
            app_name=first.app.name,
            status=run.status,
            duration=1.5 if run.status == Status.SUCCEEDED else None,
        )
        for run in runs
        for p in range(1, steps + 1)
    )
    return batch


def count_queries(client, url):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries), response


def test_the_live_batch_page_makes_as_many_queries_for_1000_runs_as_for_10(viewer_client):
    small = batch_with_runs(10)
    large = batch_with_runs(1000)

    few, _ = count_queries(viewer_client, reverse("runs:batch_live", args=[small.pk]))
    many, response = count_queries(viewer_client, reverse("runs:batch_live", args=[large.pk]))

    assert few == many
    snapshot = response.context["snapshot"]
    assert snapshot["total_files"] == 1000
    assert snapshot["batch_counts"] == {
        "pending": 0,
        "queued": 250,
        "running": 250,
        "succeeded": 250,
        "failed": 250,
        "cancelled": 0,
    }
    assert len(snapshot["rows"]) == 50
    assert snapshot["num_pages"] == 20


def test_the_page_filters_rows_by_status(viewer_client):
    batch = batch_with_runs(8)

    response = viewer_client.get(reverse("runs:batch_live", args=[batch.pk]), {"status": "failed"})

    rows = response.context["snapshot"]["rows"]
    assert len(rows) == 2
    assert {row["run"]["status"] for row in rows} == {"failed"}


def test_the_estimate_comes_from_recent_durations_and_says_so(viewer_client):
    batch = batch_with_runs(4, steps=1)

    response = viewer_client.get(reverse("runs:batch_live", args=[batch.pk]))

    # 2 files still to go (queued, running) x median 1.5 s / max_concurrency 1
    assert response.context["snapshot"]["estimate"] == pytest.approx(3.0)


def test_curators_see_start_cancel_and_retry_and_viewers_do_not(client, curator, viewer):
    batch = batch_with_runs(2)
    url = reverse("runs:batch_live", args=[batch.pk])

    client.force_login(curator)
    assert 'value="Start"' in client.get(url).content.decode()
    client.force_login(viewer)
    assert 'value="Start"' not in client.get(url).content.decode()
    assert client.post(reverse("runs:batch_action", args=[batch.pk, "cancel"])).status_code == 403
    assert not Run.objects.filter(status=Status.CANCELLED).exists()


def test_a_curator_cancels_from_the_live_page(curator_client):
    batch = batch_with_runs(4)

    response = curator_client.post(reverse("runs:batch_action", args=[batch.pk, "cancel"]), follow=True)

    assert "Cancelled 2 run(s)." in [str(m) for m in response.context["messages"]]
    assert Run.objects.filter(batch=batch, status=Status.CANCELLED).count() == 2


def test_anonymous_users_are_sent_to_log_in(client):
    batch = batch_with_runs(1)

    response = client.get(reverse("runs:batch_live", args=[batch.pk]))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_the_run_page_has_every_step(viewer_client):
    batch = batch_with_runs(1, steps=3)
    run = batch.runs.get()

    response = viewer_client.get(reverse("runs:run_live", args=[run.pk]))

    snapshot = response.context["snapshot"]
    assert [step["position"] for step in snapshot["steps"]] == [1, 2, 3]
    assert snapshot["guid"] == run.media_file.guid


def test_the_batch_list_links_to_the_live_page(viewer_client):
    batch = batch_with_runs(1)

    page = viewer_client.get(reverse("admin:batches_batch_changelist")).content.decode()

    assert reverse("runs:batch_live", args=[batch.pk]) in page


def test_the_live_page_gets_a_sentence_back_when_it_starts_a_batch_without_a_pipeline(curator_client):
    batch = BatchFactory(name="Loose", pipeline=None, media_files=MediaFileFactory.create_batch(1))

    response = curator_client.post(
        reverse("runs:batch_action", args=[batch.pk, "start"]), headers={"Accept": "application/json"}
    )

    assert response.status_code == 409
    assert response.json()["message"].startswith("Batch 'Loose' has no pipeline")
    assert not Run.objects.exists()
