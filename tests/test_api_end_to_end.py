"""A script drives Chowda through the API alone, with a token: from an app's URL to a zip of MMIF."""

import io
import zipfile

import pytest
from mmif import Mmif
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.runner_helpers import wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("celery_worker")]

GUIDS = ["cpb-aacip-e2e-1", "cpb-aacip-e2e-2", "cpb-aacip-e2e-3"]


@pytest.fixture
def script(curator):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=curator).key}")
    return client


@pytest.fixture(autouse=True)
def runner_settings(settings, tmp_path, runner_apps):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.MEDIA_LOCATION_TEMPLATE = "file:///media/{guid}.mp4"  # the test apps never read the file
    for _url, behaviour in runner_apps.values():
        wait_for(lambda b=behaviour: b.in_flight == 0, message="the apps to finish earlier requests")
        behaviour.reset()


def ok(response, status=200):
    assert response.status_code == status, response.content
    return response.json()


def test_a_script_registers_an_app_builds_a_pipeline_imports_runs_and_downloads(script, runner_apps):
    first = ok(script.post("/api/apps/", {"endpoint": runner_apps["first"][0], "name": "first"}, format="json"), 201)
    second = ok(script.post("/api/apps/", {"endpoint": runner_apps["second"][0]}, format="json"), 201)
    pipeline = ok(
        script.post(
            "/api/pipelines/",
            {
                "name": "Tag twice",
                "steps": [
                    {"app": first["id"], "parameters": {"label": "one"}},
                    {"app": second["id"], "parameters": {"label": "two"}},
                ],
            },
            format="json",
        ),
        201,
    )
    batch = ok(script.post("/api/batches/", {"name": "Nightly", "pipeline": pipeline["id"]}, format="json"), 201)
    imported = ok(script.post("/api/media-files/import/", {"guids": "\n".join(GUIDS), "batch": batch["id"]}))
    assert (imported["created"], imported["batch"]) == (3, batch["id"])

    started = ok(script.post(f"/api/batches/{batch['id']}/start/"))
    assert started["started"] == 3

    def finished_runs():
        runs = ok(script.get("/api/runs/", {"batch": batch["id"], "superseded": "false"}))["results"]
        return runs if all(run["status"] not in ("pending", "queued", "running") for run in runs) else None

    runs = wait_for(finished_runs, timeout=60, message="the batch's runs to finish")
    assert sorted(run["guid"] for run in runs) == GUIDS
    assert {run["status"] for run in runs} == {"succeeded"}
    detail = ok(script.get(f"/api/runs/{runs[0]['id']}/"))
    assert [(s["position"], s["status"], s["attempts"]) for s in detail["steps"]] == [
        (1, "succeeded", 1),
        (2, "succeeded", 1),
    ]
    assert ok(script.get(f"/api/batches/{batch['id']}/"))["runs"]["succeeded"] == 3

    response = script.get(f"/api/batches/{batch['id']}/mmif.zip")
    assert response.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    assert sorted(archive.namelist()) == [f"{guid}.mmif" for guid in GUIDS]
    for name in archive.namelist():
        mmif = Mmif(archive.read(name).decode())
        assert [view.metadata.parameters["label"] for view in mmif.views] == ["one", "two"]
        assert mmif.documents[0].location == f"file:///media/{name.removesuffix('.mmif')}.mp4"
    final = script.get(runs[0]["mmif_url"])
    assert Mmif(b"".join(final.streaming_content).decode()).views
