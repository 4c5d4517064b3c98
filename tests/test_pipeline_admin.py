import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils.html import escape

from batches.models import DocumentType
from pipelines.models import Pipeline, PipelineStep
from tests.factories import BatchFactory, ClamsAppFactory, MediaFileFactory, PipelineFactory, PipelineStepFactory

pytestmark = pytest.mark.django_db

ADD_URL = reverse("admin:pipelines_pipeline_add")
CHANGELIST_URL = reverse("admin:pipelines_pipeline_changelist")


def pipeline_form(name, steps, initial=()):
    """POST data for the pipeline add/change page: ``steps`` are (position, app, parameters) for new steps,
    ``initial`` are existing PipelineStep objects with the values to post for them."""
    rows = [(step.pk, step.position, step.app, step.parameters) for step in initial]
    rows += [(None, position, app, parameters) for position, app, parameters in steps]
    data = {
        "name": name,
        "description": "",
        "steps-TOTAL_FORMS": str(len(rows)),
        "steps-INITIAL_FORMS": str(len(initial)),
        "steps-MIN_NUM_FORMS": "0",
        "steps-MAX_NUM_FORMS": "1000",
        "_save": "Save",
    }
    for i, (pk, position, app, parameters) in enumerate(rows):
        data[f"steps-{i}-id"] = "" if pk is None else str(pk)
        data[f"steps-{i}-position"] = str(position)
        data[f"steps-{i}-app"] = str(app.pk)
        data[f"steps-{i}-parameters"] = parameters if isinstance(parameters, str) else json.dumps(parameters)
    return data


def step_errors(response, index=0):
    return response.context["inline_admin_formsets"][0].formset.forms[index].errors


def test_curator_creates_a_two_step_pipeline(curator_client, segmenter, transcriber):
    data = pipeline_form(
        "Speech to text",
        [(1, segmenter, {"label": "speech", "mode": "accurate", "tags": ["news"]}), (2, transcriber, {})],
    )

    response = curator_client.post(ADD_URL, data)

    assert response.status_code == 302, response.context and response.context["errors"]
    pipeline = Pipeline.objects.get(name="Speech to text")
    steps = list(pipeline.steps.order_by("position"))
    assert [(s.position, s.app, s.parameters) for s in steps] == [
        (1, segmenter, {"label": "speech", "mode": "accurate", "tags": ["news"]}),
        (2, transcriber, {}),
    ]


def test_an_emptied_parameters_box_means_no_parameters(curator_client, transcriber):
    response = curator_client.post(ADD_URL, pipeline_form("Text", [(1, transcriber, "")]))

    assert response.status_code == 302
    assert PipelineStep.objects.get().parameters == {}


def test_invalid_parameters_are_explained_at_the_field_and_nothing_is_saved(curator_client, segmenter):
    data = pipeline_form("Bad", [(1, segmenter, {"label": "speech", "mode": "slow", "segments": 2.5})])

    response = curator_client.post(ADD_URL, data)

    assert response.status_code == 200
    messages = [
        "Parameter 'mode' must be one of 'fast', 'accurate'; got 'slow'.",
        "Parameter 'segments' must be a whole number (integer); got 2.5.",
    ]
    assert step_errors(response)["parameters"] == messages
    for message in messages:
        assert escape(message) in response.content.decode()
    assert not Pipeline.objects.exists()


def test_a_missing_required_parameter_is_explained(curator_client, segmenter):
    response = curator_client.post(ADD_URL, pipeline_form("Bad", [(1, segmenter, {})]))

    assert step_errors(response)["parameters"] == [
        "Parameter 'label' is required: give it a string, since the app has no default."
    ]


def test_parameters_that_are_not_an_object_are_explained(curator_client, segmenter):
    response = curator_client.post(ADD_URL, pipeline_form("Bad", [(1, segmenter, ["label", "speech"])]))

    assert step_errors(response)["parameters"][0].startswith("Parameters must be a JSON object")
    assert not Pipeline.objects.exists()


def test_an_app_without_metadata_must_be_refreshed_first(curator_client):
    unfetched = ClamsAppFactory(name="whisper", metadata={})

    response = curator_client.post(ADD_URL, pipeline_form("Bad", [(1, unfetched, {})]))

    assert step_errors(response)["app"] == [
        (
            "Chowda has no metadata for app 'whisper', so it cannot check the parameters; "
            "refresh the app's metadata first."
        )
    ]
    assert not Pipeline.objects.exists()


def test_a_disabled_app_cannot_be_used(curator_client, transcriber):
    transcriber.enabled = False
    transcriber.save()

    response = curator_client.post(ADD_URL, pipeline_form("Bad", [(1, transcriber, {})]))

    assert step_errors(response)["app"] == ["App 'Test Transcriber' is disabled; enable it or choose another app."]
    assert not Pipeline.objects.exists()


def test_duplicate_positions_are_refused_with_a_clear_error(curator_client, segmenter, transcriber):
    data = pipeline_form("Twice", [(1, segmenter, {"label": "x"}), (1, transcriber, {})])

    response = curator_client.post(ADD_URL, data)

    assert response.status_code == 200
    error = "Two or more steps have the same position (1); give every step its own position."
    assert response.context["inline_admin_formsets"][0].formset.non_form_errors() == [error]
    assert escape(error) in response.content.decode()
    assert not Pipeline.objects.exists()


def test_curator_swaps_two_steps(curator_client, segmenter, transcriber):
    pipeline = PipelineFactory(name="Swap")
    first = PipelineStepFactory(pipeline=pipeline, position=1, app=transcriber)
    second = PipelineStepFactory(pipeline=pipeline, position=2, app=segmenter, parameters={"label": "x"})
    first.position, second.position = 2, 1

    response = curator_client.post(
        reverse("admin:pipelines_pipeline_change", args=[pipeline.pk]),
        pipeline_form("Swap", [], initial=[first, second]),
    )

    assert response.status_code == 302
    assert [s.app for s in pipeline.steps.order_by("position")] == [segmenter, transcriber]


def test_curator_moves_a_step_into_the_place_of_a_removed_one(curator_client, segmenter, transcriber):
    pipeline = PipelineFactory(name="Shrink")
    kept = PipelineStepFactory(pipeline=pipeline, position=1, app=transcriber)
    removed = PipelineStepFactory(pipeline=pipeline, position=2, app=segmenter, parameters={"label": "x"})
    kept.position = 2
    data = pipeline_form("Shrink", [], initial=[kept, removed])
    data["steps-1-DELETE"] = "on"

    response = curator_client.post(reverse("admin:pipelines_pipeline_change", args=[pipeline.pk]), data)

    assert response.status_code == 302
    assert [(s.position, s.app) for s in pipeline.steps.all()] == [(2, transcriber)]


def test_the_change_page_shows_type_check_warnings(curator_client, segmenter, ocr):
    pipeline = PipelineFactory(name="Audio OCR")
    PipelineStepFactory(pipeline=pipeline, position=1, app=segmenter, parameters={"label": "x"})
    PipelineStepFactory(pipeline=pipeline, position=2, app=ocr)
    media = MediaFileFactory(document_type=DocumentType.AUDIO, mime_type="audio/wav")
    BatchFactory(pipeline=pipeline, media_files=[media])

    response = curator_client.get(reverse("admin:pipelines_pipeline_change", args=[pipeline.pk]))

    assert response.status_code == 200
    assert response.context["type_warnings"] == [
        "Step 2 (Test OCR) needs ImageDocument, which neither the media nor an earlier step provides."
    ]
    assert 'class="messagelist pipeline-type-warnings"' in response.content.decode()


def test_saving_a_pipeline_repeats_its_warnings(curator_client, transcriber):
    response = curator_client.post(ADD_URL, pipeline_form("No frames", [(1, transcriber, {})]), follow=True)

    messages = [str(m) for m in response.context["messages"]]
    assert "was added successfully" in messages[0]
    assert messages[1:] == [
        "Step 1 (Test Transcriber) needs TimeFrame, which neither the media nor an earlier step provides."
    ]


def test_the_change_page_shows_the_accepted_parameters(curator_client, segmenter):
    pipeline = PipelineFactory()
    PipelineStepFactory(pipeline=pipeline, position=1, app=segmenter, parameters={"label": "x"})

    response = curator_client.get(reverse("admin:pipelines_pipeline_change", args=[pipeline.pk]))

    content = response.content.decode()
    assert "<code>label</code>: string, required" in content
    assert "<code>mode</code>: &quot;fast&quot; or &quot;accurate&quot;, default &quot;fast&quot;" in content
    assert "<code>tags</code>: list of strings, default []" in content


def test_the_list_shows_the_apps_in_order(curator_client, segmenter, transcriber):
    pipeline = PipelineFactory(name="Speech to text")
    PipelineStepFactory(pipeline=pipeline, position=2, app=transcriber)
    PipelineStepFactory(pipeline=pipeline, position=1, app=segmenter, parameters={"label": "x"})

    response = curator_client.get(CHANGELIST_URL)

    assert "Test Segmenter → Test Transcriber" in response.content.decode()


def test_the_list_searches_by_app_name(curator_client, segmenter, transcriber):
    for name, app in [("Speech", segmenter), ("Text", transcriber)]:
        PipelineStepFactory(pipeline=PipelineFactory(name=name), position=1, app=app)

    response = curator_client.get(CHANGELIST_URL, {"q": "transcriber"})

    assert [p.name for p in response.context["cl"].result_list] == ["Text"]


def test_the_list_costs_the_same_queries_for_5_or_50_pipelines(curator_client, segmenter, transcriber):
    def queries_for_list_of(count):
        for _ in range(count - Pipeline.objects.count()):
            pipeline = PipelineFactory()
            PipelineStepFactory(pipeline=pipeline, position=1, app=segmenter)
            PipelineStepFactory(pipeline=pipeline, position=2, app=transcriber)
        with CaptureQueriesContext(connection) as queries:
            response = curator_client.get(CHANGELIST_URL)
        assert response.status_code == 200
        assert len(response.context["cl"].result_list) == count
        return len(queries)

    assert queries_for_list_of(5) == queries_for_list_of(50)


def test_viewer_sees_pipelines_read_only(viewer_client, segmenter):
    pipeline = PipelineFactory(name="Speech")
    step = PipelineStepFactory(pipeline=pipeline, position=1, app=segmenter, parameters={"label": "x"})
    change_url = reverse("admin:pipelines_pipeline_change", args=[pipeline.pk])

    listing = viewer_client.get(CHANGELIST_URL)
    page = viewer_client.get(change_url)

    assert listing.status_code == 200
    assert ADD_URL not in listing.content.decode()
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()
    assert not page.context["has_add_permission"]
    assert not page.context["has_change_permission"]
    assert not page.context["has_delete_permission"]
    assert viewer_client.post(ADD_URL, pipeline_form("Sneaky", [(1, segmenter, {"label": "x"})])).status_code == 403
    step.position = 5
    assert viewer_client.post(change_url, pipeline_form("Renamed", [], initial=[step])).status_code == 403
    assert Pipeline.objects.get().name == "Speech"
    assert PipelineStep.objects.get().position == 1
