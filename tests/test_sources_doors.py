"""Media sources, syncs and schedules through their doors: the admin and the API call the same services, show
the same sentences, never show a credential, and list them in a number of queries that does not grow."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_celery_beat.models import PeriodicTask

from background.models import BackgroundJob
from sources.models import MediaSource, Schedule, SourceKind, SyncRun, SyncStatus
from sources.services import schedule_save
from tests.factories import BatchFactory, CollectionFactory

pytestmark = pytest.mark.django_db

SECRET = "wJalrXUtnFEMI-never-shown"  # pragma: allowlist secret


def make_source(name: str, **fields) -> MediaSource:
    return MediaSource.objects.create(
        name=name, kind=SourceKind.S3, bucket="archive", prefix="media", credentials_env="ARCHIVE_S3", **fields
    )


def queries(client, url) -> int:
    """The queries of one request (the permissions read by an earlier one are cached on the user)."""
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def some_syncs(source, n=3):
    """Syncs of the source, and a schedule that syncs it: what the lists show grows with each call."""
    for _ in range(n):
        SyncRun.objects.create(source=source, trigger="test", status=SyncStatus.SUCCEEDED)
    schedule_save(Schedule(name=f"sync {source.name}", cron="0 2 * * *", timezone="UTC", action="sync", source=source))
    Schedule.objects.filter(source=source).update(last_batch=BatchFactory(name=f"made for {source.name}"))


def test_the_source_list_and_page_say_whether_each_credential_is_set_and_never_show_it(viewer_client, monkeypatch):
    monkeypatch.setenv("ARCHIVE_S3_ACCESS_KEY_ID", "AKIAEXAMPLE")
    monkeypatch.setenv("ARCHIVE_S3_SECRET_ACCESS_KEY", SECRET)
    source = make_source("Archive bucket")

    page = viewer_client.get(f"/admin/sources/mediasource/{source.pk}/change/").content.decode()
    listing = viewer_client.get("/admin/sources/mediasource/").content.decode()

    assert "ARCHIVE_S3_SECRET_ACCESS_KEY</code>: set" in page
    assert SECRET not in page and SECRET not in listing
    assert "s3://archive/media" in listing and "never" in listing


def test_the_admin_lists_take_as_many_queries_for_many_sources_and_syncs_as_for_few(viewer_client):
    some_syncs(make_source("first"))
    urls = ("/admin/sources/mediasource/", "/admin/sources/syncrun/", "/admin/sources/schedule/")
    few = [queries(viewer_client, url) for url in urls]
    for n in range(8):
        some_syncs(make_source(f"more {n}"))
    many = [queries(viewer_client, url) for url in urls]
    assert Schedule.objects.count() == 9
    assert many == few


def test_sync_now_in_the_admin_records_a_background_sync_and_a_second_is_told_which_runs(curator_client):
    source = make_source("Archive bucket")
    ask = {"action": "sync_now", "_selected_action": [source.pk]}

    first = curator_client.post("/admin/sources/mediasource/", ask, follow=True).content.decode()
    sync = SyncRun.objects.get(source=source)
    assert f"Syncing source &#x27;Archive bucket&#x27; in the background (sync {sync.pk})." in first
    assert BackgroundJob.objects.filter(kind="sync", target=sync.pk).count() == 1

    again = curator_client.post("/admin/sources/mediasource/", ask, follow=True).content.decode()
    assert f"is already being synced (sync {sync.pk}, waiting); nothing new was started" in again
    assert SyncRun.objects.filter(source=source).count() == 1


def test_a_viewer_is_offered_no_sync_and_cannot_post_one(viewer_client):
    source = make_source("Archive bucket")

    listing = viewer_client.get("/admin/sources/mediasource/").content.decode()
    viewer_client.post("/admin/sources/mediasource/", {"action": "sync_now", "_selected_action": [source.pk]})

    assert "Sync now" not in listing
    assert not SyncRun.objects.exists()


def test_a_schedule_with_a_bad_cron_is_refused_in_the_admin_and_a_good_one_shows_its_next_runs(curator_client):
    source = make_source("Archive bucket")
    form = {"name": "Nightly", "enabled": "on", "timezone": "America/New_York", "action": "sync", "source": source.pk}
    form["overrides"] = "{}"

    bad = curator_client.post("/admin/sources/schedule/add/", {**form, "cron": "61 2 * * *"}).content.decode()
    assert "61" in bad and "errornote" in bad
    assert not Schedule.objects.exists() and not PeriodicTask.objects.filter(name__startswith="chowda").exists()

    curator_client.post("/admin/sources/schedule/add/", {**form, "cron": "0 2 * * *"})
    schedule = Schedule.objects.get()
    page = curator_client.get(f"/admin/sources/schedule/{schedule.pk}/change/").content.decode()
    assert page.count("02:00 EST") + page.count("02:00 EDT") >= 3
    assert schedule.periodic_task is not None and schedule.periodic_task.enabled


def test_the_api_adds_a_source_whose_answer_names_its_variables_but_never_their_values(api, monkeypatch):
    monkeypatch.setenv("ARCHIVE_S3_SECRET_ACCESS_KEY", SECRET)
    answer = api.post(
        "/api/media-sources/",
        {"name": "Bucket", "kind": "s3", "bucket": "archive", "prefix": "media", "credentials_env": "ARCHIVE_S3"},
        format="json",
    )

    assert answer.status_code == 201, answer.content
    assert {"variable": "ARCHIVE_S3_SECRET_ACCESS_KEY", "set": True} in answer.json()["credentials"]
    assert SECRET not in answer.content.decode()


def test_the_api_syncs_a_source_with_a_202_and_a_second_request_answers_the_running_one(api):
    source = make_source("Archive bucket")

    first = api.post(f"/api/media-sources/{source.pk}/sync/")
    again = api.post(f"/api/media-sources/{source.pk}/sync/")
    followed = api.get(f"/api/sync-runs/{first.json()['id']}/")

    assert first.status_code == 202 and first.json()["started"] is True
    assert again.status_code == 202 and again.json()["started"] is False
    assert again.json()["id"] == first.json()["id"]
    assert "already being synced" in again.json()["sentence"]
    assert followed.json()["status"] == "pending" and followed.json()["source"] == source.pk


def test_a_disabled_source_is_not_synced_and_the_api_says_why(api):
    source = make_source("Old bucket", enabled=False)

    answer = api.post(f"/api/media-sources/{source.pk}/sync/")

    assert answer.status_code == 409
    assert "Source 'Old bucket' is disabled: enable it, then sync it." in answer.content.decode()
    assert not SyncRun.objects.exists()


def test_the_api_refuses_a_bad_schedule_with_a_sentence_and_saves_nothing(api):
    collection = CollectionFactory()
    answer = api.post(
        "/api/schedules/",
        {"name": "Weekly", "cron": "0 2 * *", "timezone": "UTC", "action": "sync", "collection": collection.pk},
        format="json",
    )

    assert answer.status_code == 400
    assert "cron" in answer.json()
    assert not Schedule.objects.exists()


def test_the_api_lists_take_as_many_queries_for_many_sources_and_syncs_as_for_few(api):
    some_syncs(make_source("first"))
    urls = ("/api/media-sources/", "/api/sync-runs/", "/api/schedules/")
    for url in urls:  # the first request also reads the user's permissions, cached after
        api.get(url)
    few = [queries(api, url) for url in urls]
    for n in range(8):
        some_syncs(make_source(f"more {n}"))
    many = [queries(api, url) for url in urls]
    assert Schedule.objects.count() == 9
    assert many == few
