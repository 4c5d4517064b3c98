"""The pipeline check warns, in a sentence, about an app built for an older MMIF than the step before it writes."""

import pytest
from django.urls import reverse

from batches.models import DocumentType
from pipelines.validation import pipeline_warnings
from tests.factories import BatchFactory, ClamsAppFactory, MediaFileFactory, PipelineFactory, PipelineStepFactory

pytestmark = pytest.mark.django_db


def pipeline_of(*apps, media=DocumentType.AUDIO):
    pipeline = PipelineFactory()
    for position, app in enumerate(apps, start=1):
        PipelineStepFactory(pipeline=pipeline, position=position, app=app)
    BatchFactory(pipeline=pipeline, media_files=[MediaFileFactory(document_type=media, mime_type=f"{media}/x")])
    return pipeline


def test_it_warns_that_an_app_built_for_mmif_1_0_is_sent_chowdas_mmif_1_2(tones):
    pipeline = pipeline_of(tones)

    assert pipeline_warnings(pipeline) == [
        "Step 1 (Test Tones) is built for MMIF 1.0.4, but Chowda sends it MMIF 1.2.0: the app may not read it, and "
        "may answer an empty view without saying why. Use a release of the app built for MMIF 1.2 or later."
    ]


def test_it_names_the_step_whose_mmif_the_old_app_is_sent(segmenter, tones):
    pipeline = pipeline_of(segmenter, tones)

    assert pipeline_warnings(pipeline) == [
        "Step 2 (Test Tones) is built for MMIF 1.0.4, but step 1 (Test Segmenter) writes MMIF 1.2.0: the app may not "
        "read it, and may answer an empty view without saying why. Use a release of the app built for MMIF 1.2 or "
        "later."
    ]


def test_it_says_nothing_when_every_app_reads_what_it_is_sent(segmenter, transcriber):
    assert pipeline_warnings(pipeline_of(segmenter, transcriber)) == []


def test_a_patch_release_reads_the_same_mmif_and_a_newer_app_is_sent_what_it_writes(segmenter):
    def app_for(name, mmif_version):
        return ClamsAppFactory(name=name, metadata={**segmenter.metadata, "name": name, "mmif_version": mmif_version})

    patch = app_for("Patch", "1.2.7")
    newer = app_for("Newer", "1.3.0")
    older = app_for("Older", "1.2.0")

    assert pipeline_warnings(pipeline_of(patch, newer, older)) == [
        "Step 3 (Older) is built for MMIF 1.2.0, but step 2 (Newer) writes MMIF 1.3.0: the app may not read it, and "
        "may answer an empty view without saying why. Use a release of the app built for MMIF 1.3 or later."
    ]


def test_the_pipelines_page_shows_the_warning(curator_client, tones):
    pipeline = pipeline_of(tones)

    page = curator_client.get(reverse("admin:pipelines_pipeline_change", args=[pipeline.pk])).content.decode()

    assert "Step 1 (Test Tones) is built for MMIF 1.0.4, but Chowda sends it MMIF 1.2.0" in page
