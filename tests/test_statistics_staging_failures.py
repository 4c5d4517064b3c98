"""A step whose media file could not be fetched never reached its app: app statistics count it apart, not as
the app's failure."""

import pytest
from django.urls import reverse

from reports.statistics import app_statistics
from runs.models import Status
from runs.services import batch_start
from tests.factories import BatchFactory, MediaFileFactory, PipelineFactory, PipelineStepFactory
from tests.runner_helpers import register, wait_until_finished

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("celery_worker")]


@pytest.fixture(autouse=True)
def scratch(settings, tmp_path):
    settings.SCRATCH_ROOT = str(tmp_path / "scratch")


def test_a_media_file_that_could_not_be_fetched_is_not_the_apps_failure(
    idle_runner_apps, unreachable_url, viewer_client, api, viewer
):
    pipeline = PipelineFactory()
    app = register(idle_runner_apps, "first", media_access="local")
    PipelineStepFactory(pipeline=pipeline, position=1, app=app, parameters={"explode": True})
    unreachable = MediaFileFactory(location=f"{unreachable_url}tape.mp4")
    readable = MediaFileFactory()  # file://, read by the app itself: its call fails in the app
    batch = BatchFactory(pipeline=pipeline, media_files=[unreachable, readable])

    batch_start(batch)
    runs = {run.media_file_id: run for run in wait_until_finished(batch)}

    assert idle_runner_apps["first"][1].requests == 1
    assert [(item.version, item.runs, item.failed) for item in app_statistics()] == [("v1", 1, 1)]
    [item] = app_statistics()
    assert item.error_kinds == {"app raised an error": 1}
    assert item.media_not_fetched == 1
    not_fetched = runs[unreachable.pk].steps.get()
    assert (not_fetched.status, not_fetched.staging_failed) == (Status.FAILED, True)
    assert not_fetched.error_message.startswith(f"Could not fetch the media file at {unreachable_url}tape.mp4")
    assert runs[readable.pk].steps.get().staging_failed is False
    row = viewer_client.get(reverse("reports:app_statistics")).content.decode().split('data-app="first"')[1]
    assert '<td class="media-not-fetched">1</td>' in row.split("</tr>")[0]
    api.force_authenticate(viewer)
    [result] = api.get(reverse("api:app-statistics")).json()["results"]
    assert (result["failed"], result["media_not_fetched"]) == (1, 1)
