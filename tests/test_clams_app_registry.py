import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from clams_apps.client import AppError, fetch_metadata
from clams_apps.models import ClamsApp, Health
from clams_apps.services import app_refresh_metadata, app_register
from tests.factories import ClamsAppFactory

pytestmark = pytest.mark.django_db


def test_it_fetches_metadata_from_a_real_clams_app(clams_apps_served):
    metadata = fetch_metadata(clams_apps_served["segmenter"])

    assert metadata["name"] == "Test Segmenter"
    assert {p["name"] for p in metadata["parameters"]} >= {"threshold", "label", "pretty"}


def test_an_unreachable_url_gives_a_sentence_naming_it(unreachable_url):
    with pytest.raises(AppError) as error:
        fetch_metadata(unreachable_url)

    assert str(error.value) == (
        f"Nothing answered at {unreachable_url} (connection refused or timed out): "
        "check the app is running and the address is right."
    )


def test_json_that_is_not_app_metadata_is_refused(clams_apps_served):
    url = clams_apps_served["not_clams"]
    with pytest.raises(AppError, match=rf"The app at {url} did not answer CLAMS app metadata: the JSON has no 'name'"):
        fetch_metadata(url)


def test_registering_stores_metadata_and_health(clams_apps_served):
    app = app_register(clams_apps_served["segmenter"])

    app.refresh_from_db()
    assert app.name == "Test Segmenter"
    assert app.health == Health.OK
    assert app.app_metadata.version == "v1.2"
    assert app.metadata_fetched_at is not None


def test_refresh_of_an_app_that_went_away_marks_it_unreachable_and_keeps_its_metadata(unreachable_url):
    app = ClamsAppFactory(endpoint=unreachable_url, name="whisper")
    before = dict(app.metadata)

    with pytest.raises(AppError):
        app_refresh_metadata(app)

    app.refresh_from_db()
    assert app.health == Health.UNREACHABLE
    assert app.health_checked_at is not None
    assert app.metadata == before
    assert app.name == "whisper"


def test_register_app_command_prints_what_it_registered(clams_apps_served, capsys):
    call_command("register_app", clams_apps_served["transcriber"], "--name", "asr")

    out = capsys.readouterr().out
    assert "Registered 'asr'" in out
    assert "http://apps.chowda.test/transcriber" in out
    assert ClamsApp.objects.get(name="asr").app_metadata.outputs[0].short_name == "TextDocument"


def test_register_app_command_refuses_an_unreachable_url_and_saves_nothing(unreachable_url):
    with pytest.raises(CommandError, match=r"Nothing answered at .*Nothing was registered"):
        call_command("register_app", unreachable_url)

    assert not ClamsApp.objects.exists()


def test_register_app_command_refuses_a_duplicate_url(clams_apps_served):
    call_command("register_app", clams_apps_served["segmenter"])

    with pytest.raises(CommandError, match=r"endpoint: .*already exists"):
        call_command("register_app", clams_apps_served["segmenter"], "--name", "other")


# The admin


def add_app(client, **data):
    form = {"name": "", "endpoint": "", "description": "", "max_concurrency": 1, "timeout": 3600, "enabled": "on"}
    return client.post(reverse("admin:clams_apps_clamsapp_add"), {**form, **data})


def test_a_curator_registers_an_app_from_its_url_alone(curator_client, clams_apps_served):
    response = add_app(curator_client, endpoint=clams_apps_served["segmenter"])

    assert response.status_code == 302
    app = ClamsApp.objects.get()
    assert app.name == "Test Segmenter"
    assert app.description == "Splits a time-based document into segments."
    assert app.health == Health.OK


def test_the_change_page_shows_what_the_app_says_about_itself(curator_client, clams_apps_served):
    add_app(curator_client, endpoint=clams_apps_served["segmenter"])
    app = ClamsApp.objects.get()

    page = curator_client.get(reverse("admin:clams_apps_clamsapp_change", args=[app.pk])).content.decode()

    assert "http://apps.chowda.test/segmenter/" in page
    assert "v1.2" in page
    assert "AudioDocument or VideoDocument" in page
    assert "TimeFrame" in page
    assert "<code>labelMap</code></td><td>map</td>" in page
    assert "<code>label</code></td><td>string</td><td>required</td>" in page
    assert "fast, accurate" in page


def test_an_unreachable_url_is_refused_in_the_admin_with_its_reason(curator_client, unreachable_url):
    response = add_app(curator_client, endpoint=unreachable_url, name="asr")

    assert response.status_code == 200
    assert f"Nothing answered at {unreachable_url}" in response.content.decode()
    assert not ClamsApp.objects.exists()


def test_an_ftp_url_is_refused(curator_client):
    response = add_app(curator_client, endpoint="ftp://127.0.0.1/app", name="asr")

    assert response.status_code == 200
    assert not ClamsApp.objects.exists()


def test_editing_an_app_that_went_away_marks_it_unreachable_and_changes_nothing_else(curator_client, unreachable_url):
    app = ClamsAppFactory(endpoint=unreachable_url, name="asr", timeout=60)
    form = {
        "name": "asr",
        "endpoint": unreachable_url,
        "description": "",
        "max_concurrency": 4,
        "timeout": 10,
        "enabled": "on",
    }

    response = curator_client.post(reverse("admin:clams_apps_clamsapp_change", args=[app.pk]), form)

    assert "Nothing answered at" in response.content.decode()
    app.refresh_from_db()
    assert (app.health, app.timeout, app.max_concurrency) == (Health.UNREACHABLE, 60, 1)


def test_refresh_metadata_action_reports_each_failure(curator_client, clams_apps_served, unreachable_url):
    good = ClamsAppFactory(endpoint=clams_apps_served["transcriber"], metadata={}, health=Health.UNKNOWN)
    gone = ClamsAppFactory(endpoint=unreachable_url, name="gone")

    response = curator_client.post(
        reverse("admin:clams_apps_clamsapp_changelist"),
        {"action": "refresh_metadata", "_selected_action": [good.pk, gone.pk]},
        follow=True,
    )

    shown = [str(m) for m in response.context["messages"]]
    assert "Refreshed the metadata of 1 app(s)." in shown
    assert any(m.startswith(f"gone: Nothing answered at {unreachable_url}") for m in shown)
    good.refresh_from_db()
    gone.refresh_from_db()
    assert good.app_metadata.name == "Test Transcriber"
    assert gone.health == Health.UNREACHABLE


def test_viewers_cannot_register_or_refresh(viewer_client, clams_apps_served):
    ClamsAppFactory()

    assert add_app(viewer_client, endpoint=clams_apps_served["segmenter"]).status_code == 403
    changelist = viewer_client.get(reverse("admin:clams_apps_clamsapp_changelist")).content.decode()
    assert "refresh_metadata" not in changelist


def test_an_app_that_went_away_can_still_be_disabled(curator_client, unreachable_url):
    app = ClamsAppFactory(endpoint=unreachable_url, name="asr")
    form = {"name": "asr", "endpoint": unreachable_url, "description": "", "max_concurrency": 1, "timeout": 3600}

    response = curator_client.post(reverse("admin:clams_apps_clamsapp_change", args=[app.pk]), form)

    assert response.status_code == 302
    app.refresh_from_db()
    assert not app.enabled
