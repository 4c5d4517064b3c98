import pytest

from batches.models import DocumentType
from pipelines.validation import pipeline_warnings, type_check
from tests.factories import (
    BatchFactory,
    ClamsAppFactory,
    MediaFileFactory,
    PipelineFactory,
    PipelineStepFactory,
)

pytestmark = pytest.mark.django_db


def pipeline_of(*apps):
    pipeline = PipelineFactory()
    for position, app in enumerate(apps, start=1):
        PipelineStepFactory(pipeline=pipeline, position=position, app=app)
    return pipeline


def used_on(pipeline, document_type):
    media = MediaFileFactory(document_type=document_type, mime_type=f"{document_type}/x")
    BatchFactory(pipeline=pipeline, media_files=[media])


def test_it_warns_about_ocr_after_an_audio_segmenter(segmenter, ocr):
    pipeline = pipeline_of(segmenter, ocr)
    used_on(pipeline, DocumentType.AUDIO)

    assert pipeline_warnings(pipeline) == [
        "Step 2 (Test OCR) needs ImageDocument, which neither the media nor an earlier step provides."
    ]


def test_it_has_nothing_to_say_about_segmenter_then_transcriber(segmenter, transcriber):
    pipeline = pipeline_of(segmenter, transcriber)
    used_on(pipeline, DocumentType.VIDEO)

    assert pipeline_warnings(pipeline) == []


def test_it_names_every_alternative_when_none_is_there(segmenter):
    pipeline = pipeline_of(segmenter)
    used_on(pipeline, DocumentType.TEXT)

    assert pipeline_warnings(pipeline) == [
        (
            "Step 1 (Test Segmenter) needs AudioDocument or VideoDocument, which neither the media nor an "
            "earlier step provides."
        )
    ]


def test_it_checks_against_the_media_of_every_batch_using_the_pipeline(segmenter, ocr):
    pipeline = pipeline_of(ocr, segmenter)
    used_on(pipeline, DocumentType.AUDIO)
    used_on(pipeline, DocumentType.IMAGE)

    assert pipeline_warnings(pipeline) == []


def test_it_says_nothing_about_documents_while_no_batch_uses_the_pipeline(ocr, transcriber):
    pipeline = pipeline_of(ocr, transcriber)

    assert pipeline_warnings(pipeline) == [
        "Step 2 (Test Transcriber) needs TimeFrame, which neither the media nor an earlier step provides."
    ]


def test_it_warns_about_an_app_without_metadata_and_trusts_it_for_later_steps(transcriber):
    unfetched = ClamsAppFactory(name="whisper", metadata={})
    pipeline = pipeline_of(unfetched, transcriber)

    assert pipeline_warnings(pipeline) == [
        (
            "Step 1 (whisper) has no app metadata, so Chowda cannot check what it needs or provides; "
            "refresh the app's metadata."
        )
    ]


def test_it_ignores_vocabulary_versions_and_optional_inputs(segmenter):
    optional = ClamsAppFactory(
        name="Optional",
        metadata={
            "name": "Optional",
            "identifier": "http://apps.chowda.test/optional",
            "mmif_version": "1.2.0",
            "input": [
                {"@type": "http://clams.ai/vocabulary/type/TimeFrame/v1"},
                {"@type": "http://clams.ai/vocabulary/type/Alignment/v1", "required": False},
            ],
            "output": [],
            "parameters": [],
        },
    )
    steps = [
        PipelineStepFactory(position=1, app=segmenter),
        PipelineStepFactory(position=2, app=optional),
    ]

    assert type_check(steps, {"AudioDocument"}) == []


def test_it_reads_the_media_in_one_query(segmenter, transcriber, django_assert_num_queries):
    pipeline = pipeline_of(segmenter, transcriber)
    for _ in range(3):
        used_on(pipeline, DocumentType.VIDEO)

    with django_assert_num_queries(2):  # the media's document types, then the steps with their apps
        pipeline_warnings(pipeline)
