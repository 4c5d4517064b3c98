"""Registering apps run as jobs through every door: the API, the admin and register_app. What an app runs (a
command, an image) is code on Chowda's machines, so only someone with the permission to set it may; a curator is
refused with the same sentence everywhere, and nothing is saved."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth.models import Permission
from django.core.management import call_command
from django.core.management.base import CommandError

from clams_apps.models import ClamsApp, Mode

pytestmark = pytest.mark.django_db

SEGMENTER = Path(__file__).resolve().parent.parent / "demo_apps" / "jobs" / "segmenter"
COMMAND = f"{sys.executable} {SEGMENTER / 'cli.py'}"
METADATA_COMMAND = f"{sys.executable} {SEGMENTER / 'metadata.py'}"
REFUSED = "You may not set what an app runs"
FAILING = f"{sys.executable} -c 'import sys; sys.exit(\"no GPU\")'"


@pytest.fixture
def operator(curator):
    """A curator who was also given the permission to set what an app runs."""
    curator.user_permissions.add(Permission.objects.get(codename="set_app_runner"))
    return type(curator).objects.get(pk=curator.pk)  # permissions are cached on the instance


@pytest.fixture(scope="module")
def segmenter_metadata() -> dict:
    return json.loads(subprocess.check_output(METADATA_COMMAND.split()))


def test_the_api_registers_a_command_app_from_its_metadata_command(api, operator):
    api.force_authenticate(operator)
    response = api.post(
        "/api/apps/", {"mode": "command", "command": COMMAND, "metadata_command": METADATA_COMMAND}, format="json"
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["name"], body["mode"], body["endpoint"], body["version"]) == (
        "Demo Audio Segmenter",
        "command",
        None,
        "v1",
    )
    assert {p["name"] for p in body["parameters"]} >= {"threshold", "minDuration", "labels"}


def test_the_api_registers_a_kubernetes_app_with_pasted_metadata(api, operator, segmenter_metadata):
    api.force_authenticate(operator)
    response = api.post(
        "/api/apps/",
        {
            "mode": "kubernetes",
            "image": "ghcr.io/example/segmenter:v1",
            "metadata_json": segmenter_metadata,
            "name": "segmenter-gpu",
            "gpus": 1,
            "node_selector": {"gpu": "a100"},
        },
        format="json",
    )

    assert response.status_code == 201, response.json()
    app = ClamsApp.objects.get(name="segmenter-gpu")
    assert (app.mode, app.command, app.image, app.gpus) == (
        Mode.KUBERNETES,
        "python3 cli.py",
        "ghcr.io/example/segmenter:v1",
        1,
    )


def test_a_curator_may_not_register_a_command_through_the_api(api):
    response = api.post(
        "/api/apps/", {"mode": "command", "command": COMMAND, "metadata_command": METADATA_COMMAND}, format="json"
    )

    assert response.status_code == 403
    assert response.json()["detail"].startswith(REFUSED)
    assert not ClamsApp.objects.exists()


def test_a_curator_may_not_turn_a_service_into_a_command(api, clams_apps_served):
    created = api.post("/api/apps/", {"endpoint": clams_apps_served["segmenter"]}, format="json").json()

    response = api.patch(f"/api/apps/{created['id']}/", {"command": "rm -rf /"}, format="json")

    assert response.status_code == 403
    assert ClamsApp.objects.get().command == ""


def test_a_metadata_command_that_fails_is_a_400_under_its_field(api, operator):
    api.force_authenticate(operator)
    response = api.post(
        "/api/apps/",
        {
            "mode": "command",
            "command": COMMAND,
            "metadata_command": FAILING,
        },
        format="json",
    )

    assert response.status_code == 400
    assert response.json()["metadata_command"] == [
        f"The metadata command `{FAILING}` failed (exit code 1); it said: no GPU"
    ]
    assert not ClamsApp.objects.exists()


def test_pasted_metadata_that_is_not_json_is_refused_with_a_sentence(api, operator):
    api.force_authenticate(operator)
    response = api.post("/api/apps/", {"mode": "command", "command": COMMAND, "metadata_json": "{oops"}, format="json")

    assert response.status_code == 400
    assert response.json()["metadata_command"][0].startswith("The pasted metadata is not JSON (Expecting property")
    assert not ClamsApp.objects.exists()


def test_the_admin_registers_a_command_app_for_an_operator(client, operator):
    client.force_login(operator)
    response = client.post(
        "/admin/clams_apps/clamsapp/add/",
        {
            "name": "",
            "mode": "command",
            "command": COMMAND,
            "metadata_command": METADATA_COMMAND,
            "max_concurrency": 2,
            "timeout": 600,
            "timeout_grace": 300,
            "media_access": "direct",
            "node_selector": "{}",
            "tolerations": "[]",
            "enabled": "on",
        },
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    app = ClamsApp.objects.get()
    assert (app.name, app.mode, app.command, app.endpoint) == ("Demo Audio Segmenter", Mode.COMMAND, COMMAND, None)
    listed = client.get("/admin/clams_apps/clamsapp/").content.decode()
    assert f"command `{COMMAND}`" in listed


def test_the_admin_shows_a_curator_what_an_app_runs_without_offering_to_change_it(curator_client):
    from clams_apps.services import app_register_job

    app = app_register_job(Mode.COMMAND, command=COMMAND, metadata_command=METADATA_COMMAND)

    page = curator_client.get(f"/admin/clams_apps/clamsapp/{app.pk}/change/").content.decode()

    assert COMMAND in page
    assert 'name="command"' not in page and 'name="mode"' not in page


def test_register_app_registers_a_command_app(capsys):
    call_command("register_app", "--command", COMMAND, "--metadata-command", METADATA_COMMAND, "--name", "segmenter")

    app = ClamsApp.objects.get(name="segmenter")
    assert app.mode == Mode.COMMAND and app.app_metadata.version == "v1"
    assert f"run as command `{COMMAND}`" in capsys.readouterr().out


def test_register_app_registers_a_kubernetes_app_from_a_metadata_file(tmp_path, segmenter_metadata):
    (tmp_path / "metadata.json").write_text(json.dumps(segmenter_metadata))

    call_command(
        "register_app", "--kubernetes-image", "example/segmenter:v1", "--metadata-file", str(tmp_path / "metadata.json")
    )

    app = ClamsApp.objects.get()
    assert (app.mode, app.image, app.command) == (Mode.KUBERNETES, "example/segmenter:v1", "python3 cli.py")


def test_register_app_wants_exactly_one_way_to_run_the_app():
    with pytest.raises(CommandError, match="Give exactly one of"):
        call_command("register_app", "http://127.0.0.1:9/", "--command", COMMAND)
    assert not ClamsApp.objects.exists()
