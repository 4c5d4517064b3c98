"""A curator, in the admin alone: register apps, build a pipeline, import GUIDs, make a batch."""

import json

import pytest
from django.urls import reverse

from batches.models import Batch, MediaFile
from clams_apps.models import ClamsApp
from pipelines.models import Pipeline

pytestmark = pytest.mark.django_db


def test_a_curator_goes_from_app_urls_to_a_batch_of_100_files(curator_client, clams_apps_served, settings):
    settings.MEDIA_LOCATION_TEMPLATE = "file:///media/{guid}.mp4"
    for name in ("segmenter", "transcriber"):
        response = curator_client.post(
            reverse("admin:clams_apps_clamsapp_add"),
            {"name": "", "endpoint": clams_apps_served[name], "max_concurrency": 2, "timeout": 600, "enabled": "on"},
        )
        assert response.status_code == 302, response.content.decode()
    segmenter = ClamsApp.objects.get(name="Test Segmenter")
    transcriber = ClamsApp.objects.get(name="Test Transcriber")

    steps = [(segmenter, {"label": "speech", "mode": "fast"}), (transcriber, {"language": "fr"})]
    pipeline_form = {
        "name": "Speech to text",
        "description": "",
        "steps-TOTAL_FORMS": "2",
        "steps-INITIAL_FORMS": "0",
        "steps-MIN_NUM_FORMS": "0",
        "steps-MAX_NUM_FORMS": "1000",
        "_save": "Save",
    }
    for i, (app, parameters) in enumerate(steps):
        pipeline_form |= {
            f"steps-{i}-position": str(i + 1),
            f"steps-{i}-app": str(app.pk),
            f"steps-{i}-parameters": json.dumps(parameters),
        }
    bad = pipeline_form | {"steps-1-parameters": json.dumps({"language": "de"})}
    refused = curator_client.post(reverse("admin:pipelines_pipeline_add"), bad)
    assert "Parameter &#x27;language&#x27; must be one of" in refused.content.decode()
    assert not Pipeline.objects.exists()
    assert curator_client.post(reverse("admin:pipelines_pipeline_add"), pipeline_form).status_code == 302
    pipeline = Pipeline.objects.get()
    assert [(s.app, s.parameters) for s in pipeline.steps.all()] == steps

    guids = "\n".join(f"cpb-aacip-{n:03d}" for n in range(100))
    imported = curator_client.post(
        reverse("admin:batches_mediafile_import"), {"guids": guids, "new_batch_name": "First hundred"}, follow=True
    )
    assert "100 created" in imported.content.decode()

    batch = Batch.objects.get(name="First hundred")
    response = curator_client.post(
        reverse("admin:batches_batch_change", args=[batch.pk]),
        {
            "name": batch.name,
            "description": "Speech to text on the first hundred.",
            "pipeline": pipeline.pk,
            "media_files": list(batch.media_files.values_list("pk", flat=True)),
        },
    )
    assert response.status_code == 302
    batch.refresh_from_db()
    assert batch.pipeline == pipeline
    assert batch.media_files.count() == 100 == MediaFile.objects.count()
    assert MediaFile.objects.get(guid="cpb-aacip-042").location == "file:///media/cpb-aacip-042.mp4"
