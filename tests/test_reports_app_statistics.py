"""App statistics per app and version: counts, error kinds, durations, throughput and a chart, in fixed queries."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from reports.statistics import app_statistics, percentile
from runs.models import Status, StepRun
from tests.factories import ClamsAppFactory, RunFactory

pytestmark = pytest.mark.django_db


def steps(app, version, n, *, status=Status.SUCCEEDED, duration=1.0, error="", ago=timedelta(hours=1)):
    run = RunFactory(status=status)
    finished = timezone.now() - ago
    StepRun.objects.bulk_create(
        StepRun(
            run=run,
            position=i + 1,
            app=app,
            app_name=app.name,
            app_version=version,
            status=status,
            duration=duration if callable(duration) is False else duration(i),
            error_message=error,
            finished_at=finished,
        )
        for i in range(n)
    )


def test_each_app_version_has_its_counts_rate_error_kinds_and_durations():
    whisper = ClamsAppFactory(name="whisper")
    steps(whisper, "v10", 18, duration=lambda i: float(i + 1))
    steps(whisper, "v10", 1, status=Status.FAILED, error="App 'whisper' at http://w/ failed: CUDA out of memory")
    steps(whisper, "v10", 1, status=Status.FAILED, error="App 'whisper' at http://w/ did not answer within 60 seconds")
    steps(whisper, "v11", 2, duration=5.0, ago=timedelta(days=3))

    v10, v11 = app_statistics()

    assert (v10.app, v10.version, v10.runs, v10.succeeded, v10.failed) == ("whisper", "v10", 20, 18, 2)
    assert v10.success_rate == pytest.approx(0.9)
    assert v10.error_kinds == {"app raised an error": 1, "timed out": 1}
    assert v10.median == pytest.approx(9.5)
    assert v10.p95 == 18.0
    assert (v10.last_day, v10.last_week) == (18, 18)
    assert (v11.version, v11.last_day, v11.last_week) == ("v11", 0, 2)
    assert v10.days[-1][1:] == (18, 0, 2)  # succeeded, found nothing, failed


def test_percentile_is_the_nearest_rank():
    assert percentile([1.0, 2.0, 3.0, 4.0], 0.95) == 4.0
    assert percentile([float(n) for n in range(1, 101)], 0.95) == 95.0
    assert percentile([], 0.95) is None


def test_the_page_shows_a_chart_and_costs_the_same_queries_for_many_apps(viewer_client):
    for n in range(2):
        steps(ClamsAppFactory(name=f"few-{n}"), "v1", 3)

    def queries():
        with CaptureQueriesContext(connection) as captured:
            response = viewer_client.get(reverse("reports:app_statistics"))
        return len(captured), response

    few, _ = queries()
    for n in range(20):
        steps(ClamsAppFactory(name=f"many-{n}"), "v1", 3, status=Status.FAILED, error="x")
    many, response = queries()

    assert few == many
    content = response.content.decode()
    assert content.count('<svg class="app-chart"') == 22
    assert "3 other" in content
    assert "<script" not in content.split('id="content"')[1]


def test_the_page_says_so_when_no_app_ran_yet(viewer_client):
    response = viewer_client.get(reverse("reports:app_statistics"))

    assert "No app has finished a step yet" in response.content.decode()


def test_the_api_gives_the_same_figures(api, viewer):
    steps(ClamsAppFactory(name="ocr"), "v2", 4, duration=2.0)
    api.force_authenticate(viewer)

    [item] = api.get(reverse("api:app-statistics")).json()["results"]

    assert item["app"] == "ocr"
    assert item["version"] == "v2"
    assert item["success_rate"] == 1.0
    assert item["median_seconds"] == 2.0
    assert item["throughput_last_day"] == 4
    assert len(item["days"]) == 14


def test_strangers_cannot_see_statistics(client):
    from tests.factories import UserFactory

    client.force_login(UserFactory(username="stranger"))

    assert client.get(reverse("reports:app_statistics")).status_code == 403


def test_steps_a_retry_kept_from_the_earlier_attempt_count_once():
    from runs.models import Run

    app = ClamsAppFactory(name="tagger")
    first = RunFactory(status=Status.FAILED)
    kept = StepRun.objects.create(
        run=first,
        position=1,
        app=app,
        app_name=app.name,
        app_version="v1",
        status=Status.SUCCEEDED,
        duration=3.0,
        started_at=timezone.now(),
        finished_at=timezone.now(),
        output_mmif="runs/1/step-1.mmif",
    )
    retry = Run.objects.create(
        batch=first.batch, media_file=first.media_file, attempt=2, retry_of=first, status=Status.SUCCEEDED
    )
    # As runs.services copies a succeeded step into the retry: same output, times and duration, no version.
    StepRun.objects.create(
        run=retry,
        position=1,
        app=app,
        app_name=app.name,
        status=Status.SUCCEEDED,
        duration=kept.duration,
        started_at=kept.started_at,
        finished_at=kept.finished_at,
        output_mmif=kept.output_mmif,
    )

    [item] = app_statistics()

    assert (item.version, item.runs, item.succeeded) == ("v1", 1, 1)
