"""A step whose app added no annotation, though its input had what the app reads, is "succeeded, found nothing":
flagged on the live pages and counted apart in the app statistics, not among the successes."""

import pytest
from django.urls import reverse

from batches.models import DocumentType
from reports.statistics import app_statistics
from runs.models import Status
from runs.services import batch_start
from tests.factories import BatchFactory, MediaFileFactory, PipelineFactory, PipelineStepFactory
from tests.runner_helpers import register, wait_until_finished

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("celery_worker")]


def audio_file():
    return MediaFileFactory(document_type=DocumentType.AUDIO, mime_type="audio/wav", location="file:///media/t.wav")


def run_one_file(runner_apps, app_name, media_file):
    pipeline = PipelineFactory()
    PipelineStepFactory(pipeline=pipeline, position=1, app=register(runner_apps, app_name))
    batch = BatchFactory(pipeline=pipeline, media_files=[media_file])
    batch_start(batch)
    [run] = wait_until_finished(batch)
    return batch, run


def test_an_app_built_for_mmif_1_0_that_answers_an_empty_view_on_audio_found_nothing(idle_runner_apps, viewer_client):
    batch, run = run_one_file(idle_runner_apps, "tones", audio_file())

    step = run.steps.get()
    assert (run.status, step.status) == (Status.SUCCEEDED, Status.SUCCEEDED)
    assert step.summary["views"][0]["annotations"] == {}
    assert step.summary["found_nothing"] is True
    [shown] = viewer_client.get(reverse("runs:run_live", args=[run.pk])).context["snapshot"]["steps"]
    assert (shown["status"], shown["found_nothing"]) == ("succeeded", True)
    assert shown["notice"].startswith("The app succeeded but found nothing: it added no annotation, though its input")
    [row] = viewer_client.get(reverse("runs:batch_live", args=[batch.pk])).context["snapshot"]["rows"]
    assert row["steps"]["1"]["found_nothing"] is True
    [item] = app_statistics()
    assert (item.runs, item.succeeded, item.found_nothing, item.failed) == (1, 1, 1, 0)
    assert item.success_rate == 0.0


def test_an_app_whose_input_lacked_what_it_reads_did_not_find_nothing(idle_runner_apps, viewer_client):
    _batch, run = run_one_file(idle_runner_apps, "tones", MediaFileFactory())  # a video: no AudioDocument

    step = run.steps.get()
    assert step.status == Status.SUCCEEDED
    assert "found_nothing" not in step.summary
    [shown] = viewer_client.get(reverse("runs:run_live", args=[run.pk])).context["snapshot"]["steps"]
    assert (shown["found_nothing"], shown["notice"]) == (False, "")
    [item] = app_statistics()
    assert (item.found_nothing, item.success_rate) == (0, 1.0)


def test_the_statistics_page_shows_found_nothing_apart_from_the_success_rate(idle_runner_apps, viewer_client):
    run_one_file(idle_runner_apps, "tones", audio_file())
    run_one_file(idle_runner_apps, "first", MediaFileFactory())

    page = viewer_client.get(reverse("reports:app_statistics")).content.decode()

    tones = page.split('data-app="tones"')[1].split("</tr>")[0]
    assert "0 %" in tones
    assert '<td class="found-nothing status-cancelled">1</td>' in tones
    first = page.split('data-app="first"')[1].split("</tr>")[0]
    assert "100 %" in first
    assert '<td class="found-nothing">0</td>' in first
