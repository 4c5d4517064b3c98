"""Every endpoint for every persona: anonymous 401, viewers read, curators write and run, superusers do all."""

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from clams_apps.services import app_register
from runs.models import Status
from sources.models import MediaSource, Schedule, SourceKind, SyncRun
from sources.services import schedule_save
from tests.factories import (
    BatchFactory,
    ClamsAppFactory,
    CollectionFactory,
    MediaFileFactory,
    PipelineFactory,
    PipelineStepFactory,
    RunFactory,
    StepRunFactory,
)

pytestmark = pytest.mark.django_db

PERSONAS = ["anonymous", "viewer", "curator", "superuser"]


@pytest.fixture
def world(settings, tmp_path, clams_apps_served):
    """One of everything, with stored MMIF so that downloads succeed."""
    settings.MEDIA_ROOT = str(tmp_path)
    settings.MEDIA_LOCATION_TEMPLATE = "file:///media/{guid}.mp4"
    app = app_register(clams_apps_served["segmenter"], name="segmenter")
    pipeline = PipelineFactory()
    PipelineStepFactory(pipeline=pipeline, app=app, position=1, parameters={"label": "speech"})
    media = MediaFileFactory()
    batch = BatchFactory(pipeline=pipeline, media_files=[media, MediaFileFactory()])
    stored = default_storage.save("runs/final.mmif", ContentFile(b'{"documents": [], "views": []}'))
    done = RunFactory(batch=batch, media_file=media, status=Status.SUCCEEDED, final_mmif=stored)
    StepRunFactory(run=done, app=app, position=1, status=Status.SUCCEEDED, output_mmif=stored)
    queued = RunFactory(batch=BatchFactory(pipeline=pipeline, media_files=[media]), media_file=media)
    objects = {
        "app": app,
        "unused_app": ClamsAppFactory(),
        "pipeline": pipeline,
        "media": media,
        "collection": CollectionFactory(media_files=[media]),
        "batch": batch,
        "run": done,
        "queued_run": queued,
        "spare_media": MediaFileFactory(),
        "source": MediaSource.objects.create(name="feed", kind=SourceKind.HTTP_FEED, api_url="http://127.0.0.1:1/f"),
        "spare_source": MediaSource.objects.create(name="s3", kind=SourceKind.S3, bucket="archive"),
    }
    objects["schedule"] = schedule_save(
        Schedule(name="nightly", cron="0 2 * * *", action="sync", source=objects["source"])
    )
    objects["sync"] = SyncRun.objects.create(source=objects["spare_source"], trigger="test", status="succeeded")
    ids = {name: obj.pk for name, obj in objects.items()}
    return {**objects, "ids": {**ids, "queued_run_batch": queued.batch_id}, "served": clams_apps_served}


# (method, URL, body, what it takes: "read" or "write", the status when allowed)
ENDPOINTS = [
    ("get", "/api/apps/", None, "read", 200),
    ("post", "/api/apps/", lambda w: {"endpoint": w["served"]["transcriber"]}, "write", 201),
    ("get", "/api/apps/{app}/", None, "read", 200),
    ("patch", "/api/apps/{app}/", lambda w: {"max_concurrency": 3}, "write", 200),
    ("put", "/api/apps/{app}/", lambda w: {"endpoint": w["app"].endpoint, "name": "s"}, "write", 200),
    ("delete", "/api/apps/{unused_app}/", None, "write", 204),
    ("post", "/api/apps/{app}/refresh/", None, "write", 200),
    ("get", "/api/pipelines/", None, "read", 200),
    (
        "post",
        "/api/pipelines/",
        lambda w: {"name": "New", "steps": [{"app": w["app"].pk, "parameters": {"label": "x"}}]},
        "write",
        201,
    ),
    ("get", "/api/pipelines/{pipeline}/", None, "read", 200),
    ("patch", "/api/pipelines/{pipeline}/", lambda w: {"description": "d"}, "write", 200),
    ("put", "/api/pipelines/{pipeline}/", lambda w: {"name": "Renamed", "steps": []}, "write", 200),
    ("delete", "/api/pipelines/{pipeline}/", None, "write", 204),
    ("get", "/api/media-files/", None, "read", 200),
    (
        "post",
        "/api/media-files/",
        lambda w: {"guid": "cpb-new", "location": "file:///m/new.mp4", "mime_type": "video/mp4"},
        "write",
        201,
    ),
    ("get", "/api/media-files/{media}/", None, "read", 200),
    ("patch", "/api/media-files/{media}/", lambda w: {"mime_type": "video/mpeg"}, "write", 200),
    ("delete", "/api/media-files/{spare_media}/", None, "write", 204),
    ("post", "/api/media-files/import/", lambda w: {"guids": "cpb-a cpb-b"}, "write", 200),
    ("get", "/api/collections/", None, "read", 200),
    ("post", "/api/collections/", lambda w: {"name": "Donation", "media_files": [w["media"].pk]}, "write", 201),
    ("get", "/api/collections/{collection}/", None, "read", 200),
    ("put", "/api/collections/{collection}/", lambda w: {"name": "Renamed"}, "write", 200),
    ("delete", "/api/collections/{collection}/", None, "write", 204),
    ("get", "/api/batches/", None, "read", 200),
    ("post", "/api/batches/", lambda w: {"name": "Nightly", "pipeline": w["pipeline"].pk}, "write", 201),
    ("get", "/api/batches/{batch}/", None, "read", 200),
    ("patch", "/api/batches/{batch}/", lambda w: {"description": "d"}, "write", 200),
    ("delete", "/api/batches/{batch}/", None, "write", 204),
    ("post", "/api/batches/{batch}/start/", None, "write", 200),
    ("post", "/api/batches/{queued_run_batch}/cancel/", None, "write", 200),
    ("post", "/api/batches/{batch}/retry-failed/", None, "write", 409),
    ("get", "/api/batches/{batch}/mmif.zip", None, "read", 200),
    ("get", "/api/runs/", None, "read", 200),
    ("get", "/api/runs/{run}/", None, "read", 200),
    ("get", "/api/runs/{run}/mmif/", None, "read", 200),
    ("get", "/api/runs/{run}/steps/1/mmif/", None, "read", 200),
    ("post", "/api/runs/{queued_run}/cancel/", None, "write", 200),
    ("get", "/api/media-sources/", None, "read", 200),
    (
        "post",
        "/api/media-sources/",
        lambda w: {"name": "Bucket", "kind": "s3", "bucket": "media", "credentials_env": "ARCHIVE_S3"},
        "write",
        201,
    ),
    ("get", "/api/media-sources/{source}/", None, "read", 200),
    ("patch", "/api/media-sources/{source}/", lambda w: {"enabled": False}, "write", 200),
    ("delete", "/api/media-sources/{spare_source}/", None, "write", 204),
    ("post", "/api/media-sources/{source}/sync/", None, "write", 202),
    ("get", "/api/sync-runs/", None, "read", 200),
    ("get", "/api/sync-runs/{sync}/", None, "read", 200),
    ("get", "/api/schedules/", None, "read", 200),
    (
        "post",
        "/api/schedules/",
        lambda w: {"name": "Weekly", "cron": "0 3 * * 1", "action": "sync", "source": w["source"].pk},
        "write",
        201,
    ),
    ("get", "/api/schedules/{schedule}/", None, "read", 200),
    ("patch", "/api/schedules/{schedule}/", lambda w: {"cron": "30 1 * * *"}, "write", 200),
    ("delete", "/api/schedules/{schedule}/", None, "write", 204),
]


def client_for(persona: str, request) -> APIClient:
    client = APIClient()
    if persona != "anonymous":
        token = Token.objects.create(user=request.getfixturevalue(persona))
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


def call(client, method, url, body):
    response = getattr(client, method)(url, body, format="json") if body is not None else getattr(client, method)(url)
    if hasattr(response, "streaming_content"):
        b"".join(response.streaming_content)
    return response


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize(
    ("method", "url", "body", "needs", "allowed"), ENDPOINTS, ids=[f"{e[0]} {e[1]}" for e in ENDPOINTS]
)
def test_each_endpoint_answers_each_persona_by_their_permissions(
    request, world, persona, method, url, body, needs, allowed
):
    client = client_for(persona, request)

    response = call(client, method, url.format(**world["ids"]), body(world) if body else None)

    if persona == "anonymous":
        assert response.status_code == 401, response.content
        assert response["WWW-Authenticate"] == "Token"
        assert response.json() == {"detail": "Authentication credentials were not provided."}
    elif persona == "viewer" and needs == "write":
        assert response.status_code == 403, response.content
        assert response.json() == {"detail": "You do not have permission to perform this action."}
    else:
        assert response.status_code == allowed, response.content


def test_a_wrong_token_is_refused_with_a_sentence(db):
    response = APIClient().get("/api/batches/", HTTP_AUTHORIZATION="Token not-a-real-token")

    assert response.status_code == 401
    assert response.json() == {"detail": "Invalid token."}


def test_the_browser_session_works_too(curator_client):
    assert curator_client.get("/api/batches/").status_code == 200


def test_a_session_without_the_permission_is_refused(client, db):
    from tests.factories import UserFactory

    client.force_login(UserFactory(username="nobody"))

    assert client.get("/api/batches/").status_code == 403


def test_an_admin_creates_and_revokes_tokens_in_the_django_admin(superuser_client, curator):
    changelist = reverse("admin:authtoken_tokenproxy_changelist")
    assert changelist in superuser_client.get(reverse("admin:index")).content.decode()

    response = superuser_client.post(reverse("admin:authtoken_tokenproxy_add"), {"user": curator.pk})

    assert response.status_code == 302
    token = Token.objects.get(user=curator)
    assert APIClient().get("/api/batches/", HTTP_AUTHORIZATION=f"Token {token.key}").status_code == 200

    superuser_client.post(reverse("admin:authtoken_tokenproxy_delete", args=[curator.pk]), {"post": "yes"})

    assert not Token.objects.filter(user=curator).exists()
    assert APIClient().get("/api/batches/", HTTP_AUTHORIZATION=f"Token {token.key}").status_code == 401
