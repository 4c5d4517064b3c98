"""Pipelines with their ordered steps: written in one go, checked like in the admin, read with their warnings."""

import json

import pytest
from django.urls import reverse

from batches.models import DocumentType
from pipelines.models import Pipeline, PipelineStep
from tests.factories import BatchFactory, ClamsAppFactory, MediaFileFactory, PipelineFactory, PipelineStepFactory

pytestmark = pytest.mark.django_db


def steps_of(pipeline):
    return [(s.position, s.app_id, s.parameters) for s in pipeline.steps.order_by("position")]


def test_a_pipeline_is_created_with_its_steps_numbered_in_order(api, segmenter, transcriber):
    body = {
        "name": "Speech to text",
        "steps": [{"app": segmenter.pk, "parameters": {"label": "speech", "tags": ["news"]}}, {"app": transcriber.pk}],
    }

    response = api.post("/api/pipelines/", body, format="json")

    assert response.status_code == 201, response.json()
    pipeline = Pipeline.objects.get(name="Speech to text")
    assert steps_of(pipeline) == [(1, segmenter.pk, {"label": "speech", "tags": ["news"]}), (2, transcriber.pk, {})]
    assert response.json()["steps"] == [
        {
            "position": 1,
            "app": segmenter.pk,
            "app_name": "Test Segmenter",
            "parameters": body["steps"][0]["parameters"],
        },
        {"position": 2, "app": transcriber.pk, "app_name": "Test Transcriber", "parameters": {}},
    ]
    assert response.json()["warnings"] == []


def test_writing_steps_replaces_all_of_them_and_leaving_them_out_keeps_them(api, segmenter, transcriber):
    pipeline = PipelineFactory(name="P")
    PipelineStepFactory(pipeline=pipeline, position=1, app=segmenter, parameters={"label": "a"})
    PipelineStepFactory(pipeline=pipeline, position=2, app=transcriber)

    swapped = api.put(
        f"/api/pipelines/{pipeline.pk}/",
        {"name": "P", "steps": [{"app": transcriber.pk}, {"app": segmenter.pk, "parameters": {"label": "b"}}]},
        format="json",
    )
    renamed = api.patch(f"/api/pipelines/{pipeline.pk}/", {"name": "Q"}, format="json")

    assert swapped.status_code == 200, swapped.json()
    assert renamed.status_code == 200
    assert steps_of(pipeline) == [(1, transcriber.pk, {}), (2, segmenter.pk, {"label": "b"})]
    assert [s["position"] for s in renamed.json()["steps"]] == [1, 2]


def test_parameter_errors_are_reported_per_step_and_per_parameter_in_the_admins_sentences(
    api, curator_client, segmenter, transcriber
):
    bad = {"threshold": "high", "mode": "slow", "colour": "red"}
    body = {"name": "Bad", "steps": [{"app": transcriber.pk}, {"app": segmenter.pk, "parameters": bad}]}

    response = api.post("/api/pipelines/", body, format="json")

    assert response.status_code == 400
    assert list(response.json()["steps"]) == ["1"]  # by index in the list: only the second step is wrong
    second = response.json()["steps"]["1"]
    assert second == {
        "parameters": {
            "threshold": ["Parameter 'threshold' must be a number; got 'high'."],
            "mode": ["Parameter 'mode' must be one of 'fast', 'accurate'; got 'slow'."],
            "colour": [
                "Test Segmenter has no parameter 'colour'; it accepts 'threshold', 'segments', 'mode', 'label', "
                "'keepSilence', 'tags', 'labelMap', 'pretty', 'runningTime', 'hwFetch', 'tfSamplingMode'."
            ],
            "label": ["Parameter 'label' is required: give it a string, since the app has no default."],
        }
    }
    assert not Pipeline.objects.exists()
    admin = curator_client.post(
        reverse("admin:pipelines_pipeline_add"),
        {
            "name": "Bad",
            "steps-TOTAL_FORMS": "1",
            "steps-INITIAL_FORMS": "0",
            "steps-0-position": "1",
            "steps-0-app": str(segmenter.pk),
            "steps-0-parameters": json.dumps(bad),
        },
    )
    admin_sentences = admin.context["inline_admin_formsets"][0].formset.forms[0].errors["parameters"]
    assert sorted(admin_sentences) == sorted(m for messages in second["parameters"].values() for m in messages)


def test_parameters_that_are_not_an_object_get_one_sentence(api, transcriber):
    body = {"name": "Bad", "steps": [{"app": transcriber.pk, "parameters": [1, 2]}]}

    response = api.post("/api/pipelines/", body, format="json")

    assert response.json()["steps"]["0"]["parameters"] == [
        'Parameters must be a JSON object of names and values, such as {"mode": "fast"}; got [1, 2].'
    ]


def test_a_disabled_app_or_one_without_metadata_is_refused_like_in_the_admin(api):
    disabled = ClamsAppFactory(name="old", enabled=False)
    blank = ClamsAppFactory(name="new", metadata={})

    response = api.post(
        "/api/pipelines/", {"name": "P", "steps": [{"app": disabled.pk}, {"app": blank.pk}]}, format="json"
    )

    assert response.json()["steps"] == {
        "0": {"app": ["App 'old' is disabled; enable it or choose another app."]},
        "1": {
            "app": [
                "Chowda has no metadata for app 'new', so it cannot check the parameters; "
                "refresh the app's metadata first."
            ]
        },
    }


def test_unknown_fields_and_wrong_types_in_steps_are_400s_that_name_them(api, transcriber):
    cases = {
        "unknown field": [{"app": transcriber.pk, "paramters": {}}],
        "app as text": [{"app": "asr"}],
        "missing app": [{"app": 999999}],
        "step not an object": ["asr"],
        "steps not a list": "asr",
    }
    answers = {
        name: api.post("/api/pipelines/", {"name": name, "steps": steps}, format="json")
        for name, steps in cases.items()
    }

    assert {name: r.status_code for name, r in answers.items()} == dict.fromkeys(cases, 400)
    assert answers["unknown field"].json()["steps"]["0"] == {
        "paramters": ["There is no field 'paramters' here; the fields you can send are app, parameters."]
    }
    assert answers["app as text"].json()["steps"]["0"] == {"app": ["Give the app's id as a whole number, not str."]}
    assert answers["missing app"].json()["steps"]["0"] == {"app": ["There is no app with id 999999."]}
    assert not Pipeline.objects.exists()


def test_a_failed_update_leaves_the_steps_as_they_were(api, segmenter):
    step = PipelineStepFactory(app=segmenter, parameters={"label": "a"})

    response = api.patch(
        f"/api/pipelines/{step.pipeline_id}/", {"steps": [{"app": segmenter.pk, "parameters": {}}]}, format="json"
    )

    assert response.status_code == 400
    assert list(PipelineStep.objects.values_list("pk", flat=True)) == [step.pk]


def test_retrieve_includes_the_type_check_warnings(api, viewer, segmenter, ocr):
    pipeline = PipelineFactory()
    PipelineStepFactory(pipeline=pipeline, position=1, app=segmenter, parameters={"label": "x"})
    PipelineStepFactory(pipeline=pipeline, position=2, app=ocr)
    BatchFactory(pipeline=pipeline, media_files=[MediaFileFactory(document_type=DocumentType.VIDEO)])
    api.force_authenticate(viewer)

    response = api.get(f"/api/pipelines/{pipeline.pk}/")

    assert response.json()["warnings"] == [
        "Step 2 (Test OCR) needs ImageDocument, which neither the media nor an earlier step provides."
    ]
