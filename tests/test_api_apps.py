"""Registering, reading, changing and refreshing CLAMS apps through the API."""

import pytest

from clams_apps.models import ClamsApp, Health
from clams_apps.services import app_register
from tests.factories import ClamsAppFactory, PipelineStepFactory

pytestmark = pytest.mark.django_db


def test_creating_an_app_fetches_its_metadata_and_takes_its_name(api, clams_apps_served):
    response = api.post("/api/apps/", {"endpoint": clams_apps_served["segmenter"]}, format="json")

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["name"] == "Test Segmenter"
    assert body["description"] == "Splits a time-based document into segments."
    assert body["version"] == "v1.2"
    assert body["health"] == Health.OK
    assert body["metadata"]["identifier"].startswith("http://apps.chowda.test/segmenter")
    label = next(p for p in body["parameters"] if p["name"] == "label")
    assert label == {
        "name": "label",
        "type": "string",
        "description": "Label for every segment (required).",
        "default": None,
        "required": True,
        "choices": [],
        "multivalued": False,
    }
    assert ClamsApp.objects.get().endpoint == clams_apps_served["segmenter"]


def test_an_unreachable_url_is_a_400_that_says_so_and_nothing_is_saved(api, unreachable_url):
    response = api.post("/api/apps/", {"endpoint": unreachable_url, "name": "whisper"}, format="json")

    assert response.status_code == 400
    assert response.json() == {
        "endpoint": [
            f"Nothing answered at {unreachable_url} (connection refused or timed out): "
            "check the app is running and the address is right."
        ]
    }
    assert not ClamsApp.objects.exists()


def test_a_url_that_is_not_a_clams_app_is_refused(api, clams_apps_served):
    url = clams_apps_served["not_clams"]

    response = api.post("/api/apps/", {"endpoint": url}, format="json")

    assert response.status_code == 400
    assert response.json()["endpoint"][0].startswith(f"The app at {url} did not answer CLAMS app metadata")


def test_a_name_taken_by_another_app_is_refused_per_field(api, clams_apps_served):
    ClamsAppFactory(name="Test Segmenter")

    response = api.post("/api/apps/", {"endpoint": clams_apps_served["segmenter"]}, format="json")

    assert response.status_code == 400
    assert list(response.json()) == ["name"]


def test_the_list_shows_identifier_and_version_but_not_the_whole_metadata(api):
    ClamsAppFactory(name="whisper")

    [app] = api.get("/api/apps/").json()["results"]

    assert app["identifier"] == "http://apps.chowda.test/segmenter/v1"
    assert app["version"] == "v1"
    assert "metadata" not in app


def test_changing_the_limits_does_not_call_the_app(api, unreachable_url):
    app = ClamsAppFactory(endpoint=unreachable_url)

    response = api.patch(f"/api/apps/{app.pk}/", {"max_concurrency": 4, "enabled": False}, format="json")

    assert response.status_code == 200
    app.refresh_from_db()
    assert (app.max_concurrency, app.enabled) == (4, False)


def test_a_timeout_over_the_maximum_is_refused_with_the_admins_sentence(api, settings):
    app = ClamsAppFactory()

    response = api.patch(f"/api/apps/{app.pk}/", {"timeout": settings.MAX_APP_TIMEOUT + 1}, format="json")

    assert response.status_code == 400
    assert response.json()["timeout"][0].startswith(f"The timeout cannot exceed {settings.MAX_APP_TIMEOUT} seconds")


def test_moving_an_app_to_a_new_url_fetches_the_metadata_there(api, clams_apps_served, unreachable_url):
    app = ClamsAppFactory(name="asr")

    refused = api.patch(f"/api/apps/{app.pk}/", {"endpoint": unreachable_url}, format="json")
    moved = api.patch(f"/api/apps/{app.pk}/", {"endpoint": clams_apps_served["transcriber"]}, format="json")

    assert refused.status_code == 400
    assert refused.json()["endpoint"][0].startswith(f"Nothing answered at {unreachable_url}")
    assert moved.status_code == 200
    assert moved.json()["name"] == "asr"
    assert moved.json()["metadata"]["name"] == "Test Transcriber"


def test_refresh_fetches_the_metadata_again(api, clams_apps_served):
    app = app_register(clams_apps_served["segmenter"])
    ClamsApp.objects.filter(pk=app.pk).update(metadata={}, health=Health.UNKNOWN)

    response = api.post(f"/api/apps/{app.pk}/refresh/")

    assert response.status_code == 200
    assert response.json()["health"] == Health.OK
    assert response.json()["version"] == "v1.2"


def test_refresh_of_an_app_that_went_away_is_a_409_and_marks_it_unreachable(api, unreachable_url):
    app = ClamsAppFactory(endpoint=unreachable_url)

    response = api.post(f"/api/apps/{app.pk}/refresh/")

    assert response.status_code == 409
    assert response.json()["detail"].endswith("The app is marked unreachable.")
    app.refresh_from_db()
    assert app.health == Health.UNREACHABLE


def test_an_app_that_a_pipeline_uses_cannot_be_deleted(api):
    step = PipelineStepFactory()

    response = api.delete(f"/api/apps/{step.app_id}/")

    assert response.status_code == 409
    assert response.json() == {
        "detail": "This CLAMS app cannot be deleted: 1 pipeline step still uses it; remove or change it first."
    }


def test_an_unused_app_is_deleted(api):
    app = ClamsAppFactory()

    assert api.delete(f"/api/apps/{app.pk}/").status_code == 204
    assert not ClamsApp.objects.exists()
