"""An app run from a source checkout signs its views ``…/unresolvable``: Chowda shows the app's name from its
metadata, and its version, once, as "unknown"."""

import pytest
from django.urls import reverse

from batches.models import DocumentType
from reports.statistics import app_statistics
from runs.services import batch_start
from tests.factories import BatchFactory, MediaFileFactory, PipelineFactory, PipelineStepFactory
from tests.runner_helpers import register, wait_until_finished

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("celery_worker")]


@pytest.fixture
def run(idle_runner_apps):
    """One file through the tone detector, which clams-python cannot tell the version of."""
    pipeline = PipelineFactory()
    PipelineStepFactory(pipeline=pipeline, position=1, app=register(idle_runner_apps, "tones"))
    media = MediaFileFactory(document_type=DocumentType.AUDIO, mime_type="audio/wav", location="file:///media/t.wav")
    batch = BatchFactory(pipeline=pipeline, media_files=[media])
    batch_start(batch)
    [run] = wait_until_finished(batch)
    return run


def test_what_the_apps_found_names_the_app_from_its_metadata_and_says_its_version_is_unknown(run, viewer_client):
    assert run.steps.get().summary["views"][0]["app"] == "http://apps.chowda.test/tones/unresolvable"

    response = viewer_client.get(reverse("findings:run_findings", args=[run.pk]))

    [view] = response.context["views"]
    assert (view["app_label"], view["version"]) == ("Test Tones", "")
    [lane] = response.context["timeline"]["lanes"]
    assert lane["app"] == "Test Tones"
    row = response.content.decode().split("<tbody>")[1].split("</tr>")[0]
    assert '<td title="http://apps.chowda.test/tones/unresolvable">Test Tones</td>' in row
    assert "<td>unknown</td>" in row
    assert "unresolvable<" not in response.content.decode()


def test_the_live_run_page_names_each_view_by_its_apps_metadata(run, viewer_client):
    [step] = viewer_client.get(reverse("runs:run_live", args=[run.pk])).context["snapshot"]["steps"]

    assert [view["name"] for view in step["views"]] == ["Test Tones"]


def test_app_statistics_count_the_app_under_an_unknown_version(run, viewer_client, api, viewer):
    [item] = app_statistics()
    assert (item.app, item.version, item.runs) == ("tones", "", 1)

    row = viewer_client.get(reverse("reports:app_statistics")).content.decode().split('data-app="tones"')[1]
    assert "<td>unknown</td>" in row.split("</tr>")[0]
    api.force_authenticate(viewer)
    assert api.get(reverse("api:app-statistics")).json()["results"][0]["version"] == ""
    assert api.get(reverse("api:app-detail", args=[run.steps.get().app_id])).json()["version"] is None


def test_the_list_of_apps_says_the_version_is_unknown(tones, viewer_client):
    page = viewer_client.get(reverse("admin:clams_apps_clamsapp_changelist")).content.decode()

    assert '<td class="field-version">unknown</td>' in page


def test_an_identifier_splits_into_the_app_and_its_version():
    from clams_apps.metadata import identifier_label, split_identifier

    assert split_identifier("http://apps.chowda.example/demo-segmenter/v1") == (
        "http://apps.chowda.example/demo-segmenter",
        "v1",
    )
    assert split_identifier("http://apps.example/whisper/1.2") == ("http://apps.example/whisper", "1.2")
    assert split_identifier("http://apps.example/whisper") == ("http://apps.example/whisper", "")
    assert split_identifier("http://apps.clams.ai/tonedetection/unresolvable") == (
        "http://apps.clams.ai/tonedetection",
        "",
    )
    assert identifier_label("http://apps.clams.ai/tonedetection/unresolvable") == "tonedetection"
