"""Media sources synced against real servers on loopback: moto's S3 server and an HTTP JSON feed."""

import json
import uuid
from datetime import timedelta

import boto3
import pytest
import requests
from django.core.management import CommandError, call_command
from django.utils import timezone

from background.models import BackgroundJob, JobStatus
from batches.models import MediaFile
from sources.models import MediaSource, SourceKind, SyncRun, SyncStatus
from sources.services import source_sync
from sources.sync import sync_run
from tests.factories import CollectionFactory
from tests.feed_server import FeedServer

pytestmark = pytest.mark.django_db

GUIDS = ["cpb-aacip-111-aaaa", "cpb-aacip-222-bbbb", "cpb-aacip-333-cccc"]


@pytest.fixture
def authenticated_s3(s3_server, monkeypatch):
    """moto checking signatures, as S3 does: an IAM user whose key may do anything, in TESTS3_* variables; an
    S3 client signed with it. (moto accepts any key until told to check: three IAM calls are let through.)"""
    requests.post(f"{s3_server}/moto-api/reset-auth", data=b"3", timeout=10).raise_for_status()
    try:
        iam = boto3.client(
            "iam", endpoint_url=s3_server, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
        )
        user = f"chowda-sync-{uuid.uuid4().hex[:8]}"
        iam.create_user(UserName=user)
        key = iam.create_access_key(UserName=user)["AccessKey"]
        iam.put_user_policy(
            UserName=user,
            PolicyName="everything",
            PolicyDocument=json.dumps(
                {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
            ),
        )
        monkeypatch.setenv("TESTS3_ACCESS_KEY_ID", key["AccessKeyId"])
        monkeypatch.setenv("TESTS3_SECRET_ACCESS_KEY", key["SecretAccessKey"])
        yield boto3.client(
            "s3",
            endpoint_url=s3_server,
            region_name="us-east-1",
            aws_access_key_id=key["AccessKeyId"],
            aws_secret_access_key=key["SecretAccessKey"],
        )
    finally:
        requests.post(f"{s3_server}/moto-api/reset-auth", data=b"inf", timeout=10).raise_for_status()


def s3_source(s3_server, bucket, **fields):
    return MediaSource.objects.create(
        name=f"bucket {bucket}",
        kind=SourceKind.S3,
        bucket=bucket,
        # Not "media/": moto's signature check (only) refuses a listing whose prefix holds a "/".
        prefix="media",
        endpoint_url=s3_server,
        credentials_env="TESTS3",
        **fields,
    )


def sync(source) -> SyncRun:
    call_command("sync_media", source.name, "--wait", stdout=open("/dev/null", "w"))  # noqa: SIM115
    return SyncRun.objects.filter(source=source).latest("pk")


def test_a_bucket_of_three_objects_becomes_three_media_files_and_one_gone_is_missing_until_it_is_back(
    s3_server, authenticated_s3, capsys
):
    s3 = authenticated_s3
    s3.create_bucket(Bucket="archive-a")
    for guid in GUIDS:
        s3.put_object(Bucket="archive-a", Key=f"media/{guid}.mp4", Body=b"video " + guid.encode())
    s3.put_object(Bucket="archive-a", Key="media/notes.txt", Body=b"not media")
    source = s3_source(s3_server, "archive-a")

    call_command("sync_media", source.name, "--wait")
    said = capsys.readouterr().out

    files = {media.guid: media for media in MediaFile.objects.all()}
    assert sorted(files) == GUIDS
    assert files[GUIDS[0]].location == f"s3://archive-a/media/{GUIDS[0]}.mp4"
    assert files[GUIDS[0]].mime_type == "video/mp4" and files[GUIDS[0]].document_type == "video"
    assert "3 new" in said and "1 skipped" in said and "notes.txt: does not match the GUID rule" in said

    # Nothing changed at the source: nothing changes here.
    before = list(MediaFile.objects.order_by("pk").values())
    again = sync(source)
    assert (again.new, again.updated, again.unchanged, again.missing) == (0, 0, 3, 0)
    assert list(MediaFile.objects.order_by("pk").values()) == before

    s3.delete_object(Bucket="archive-a", Key=f"media/{GUIDS[1]}.mp4")
    gone = sync(source)
    assert gone.missing == 1
    assert MediaFile.objects.get(guid=GUIDS[1]).missing_since is not None
    assert MediaFile.objects.filter(missing_since__isnull=True).count() == 2  # never deleted, only marked

    s3.put_object(Bucket="archive-a", Key=f"media/{GUIDS[1]}.mp4", Body=b"back")
    back = sync(source)
    assert back.missing == 0
    assert MediaFile.objects.get(guid=GUIDS[1]).missing_since is None


def test_a_wrong_secret_fails_with_a_sentence_that_hides_it_and_marks_nothing_missing(
    s3_server, authenticated_s3, monkeypatch
):
    s3 = authenticated_s3
    s3.create_bucket(Bucket="archive-b")
    for guid in GUIDS:
        s3.put_object(Bucket="archive-b", Key=f"media/{guid}.mp4", Body=b"x")
    source = s3_source(s3_server, "archive-b")
    sync(source)
    s3.delete_object(Bucket="archive-b", Key=f"media/{GUIDS[0]}.mp4")
    monkeypatch.setenv("TESTS3_SECRET_ACCESS_KEY", "wrong-secret-value")  # pragma: allowlist secret

    with pytest.raises(CommandError) as refused:
        call_command("sync_media", source.name, "--wait", stdout=open("/dev/null", "w"))  # noqa: SIM115

    said = str(refused.value)
    assert "bucket 'archive-b'" in said and "secret access key is wrong" in said
    assert "nothing was marked missing" in said
    assert "wrong-secret-value" not in said
    failed = SyncRun.objects.filter(source=source).latest("pk")
    assert failed.status == SyncStatus.FAILED and failed.sentence == said
    assert not MediaFile.objects.filter(missing_since__isnull=False).exists()


def test_a_feed_is_read_page_by_page_and_a_second_sync_is_answered_not_modified(settings):
    collection = CollectionFactory()
    with FeedServer(page_size=2) as feed:
        feed.items = [
            {"name": f"{guid}.wav", "location": f"https://media.example.org/{guid}.wav", "size": 10} for guid in GUIDS
        ] + [{"guid": "given-guid-1", "location": "https://media.example.org/x.mp4", "mime": "video/mp4"}]
        source = MediaSource.objects.create(
            name="feed", kind=SourceKind.HTTP_FEED, api_url=feed.url, collection=collection
        )

        first = sync(source)
        assert first.status == SyncStatus.SUCCEEDED, first.sentence
        assert (first.pages, first.new) == (2, 4)
        assert set(collection.media_files.values_list("guid", flat=True)) == {*GUIDS, "given-guid-1"}
        assert MediaFile.objects.get(guid=GUIDS[0]).document_type == "audio"

        feed.requests.clear()
        second = sync(source)
        assert (second.new, second.updated, second.unchanged, second.missing) == (0, 0, 4, 0)
        assert feed.requests == [(1, 304), (2, 304)]

        feed.items[3]["location"] = "https://media.example.org/moved.mp4"
        third = sync(source)
        assert (third.updated, third.unchanged) == (1, 3)
        assert MediaFile.objects.get(guid="given-guid-1").location == "https://media.example.org/moved.mp4"


@pytest.mark.parametrize(
    ("status", "body", "said"),
    [
        (500, b'{"error": "boom"}', "The feed answered 500 for page 2 of the feed of source 'feed'"),
        (200, b"<html>not json</html>", "Page 2 of the feed of source 'feed' (http"),
        (200, b'{"things": []}', 'has no "items" list'),
    ],
)
def test_a_feed_page_that_fails_fails_the_sync_with_a_sentence_and_marks_nothing_missing(status, body, said):
    with FeedServer(page_size=2) as feed:
        feed.items = [{"name": f"{guid}.mp4", "location": f"https://m.example.org/{guid}.mp4"} for guid in GUIDS]
        source = MediaSource.objects.create(name="feed", kind=SourceKind.HTTP_FEED, api_url=feed.url)
        assert sync(source).new == 3
        # Two gone, two new: but the listing will not be complete.
        feed.items = feed.items[:1] + [
            {"name": f"cpb-aacip-{n}-new.mp4", "location": f"https://m.example.org/{n}.mp4"} for n in (4, 5)
        ]
        feed.fail(2, status, body)

        with pytest.raises(CommandError) as refused:
            call_command("sync_media", "feed", "--wait", stdout=open("/dev/null", "w"))  # noqa: SIM115

    assert said in str(refused.value)
    assert "nothing was marked missing" in str(refused.value)
    assert not MediaFile.objects.filter(missing_since__isnull=False).exists()


def test_items_whose_names_the_guid_rule_does_not_match_or_repeat_a_guid_are_skipped_and_counted():
    with FeedServer(page_size=10) as feed:
        feed.items = [
            {"name": "cpb-aacip-1-a.mp4", "location": "https://m.example.org/1.mp4"},
            {"name": "cpb-aacip-1-a-dupe.mp4", "location": "https://m.example.org/1-dupe.mp4"},
            {"name": "holiday.mp4", "location": "https://m.example.org/h.mp4"},
            {"name": "cpb-aacip-2-b.bin", "location": "https://m.example.org/2.bin"},
            {"name": "cpb-aacip-3-c.mp4", "location": "ftp://m.example.org/3.mp4"},
        ]
        source = MediaSource.objects.create(name="feed", kind=SourceKind.HTTP_FEED, api_url=feed.url)
        done = sync(source)

    assert list(MediaFile.objects.values_list("guid", "location")) == [("cpb-aacip-1-a", "https://m.example.org/1.mp4")]
    assert (done.skipped, done.errors) == (2, 2)
    assert any("holiday.mp4: does not match the GUID rule" in line for line in done.skipped_examples)
    assert any("also cpb-aacip-1-a.mp4" in line for line in done.skipped_examples)
    assert any("cpb-aacip-2-b.bin" in line and "MIME type" in line for line in done.error_messages)
    assert any("ftp://" in line for line in done.error_messages)


def test_one_sync_per_source_at_a_time_a_second_request_is_told_which_is_running():
    source = MediaSource.objects.create(name="feed", kind=SourceKind.HTTP_FEED, api_url="http://127.0.0.1:1/feed")
    first = source_sync(source, trigger="test")
    second = source_sync(source, trigger="test")

    assert first.started and not second.started
    assert second.sync == first.sync
    assert f"already being synced (sync {first.sync.pk}" in second.sentence


def test_a_source_that_cannot_be_reached_fails_its_sync_with_a_sentence():
    source = MediaSource.objects.create(name="feed", kind=SourceKind.HTTP_FEED, api_url="http://127.0.0.1:1/feed")
    asked = source_sync(source, trigger="test", in_background=False)
    done = sync_run(asked.sync.pk)

    assert done.status == SyncStatus.FAILED
    assert done.sentence.startswith(
        "Page 1 of the feed of source 'feed' (http://127.0.0.1:1/feed) could not be read (ConnectionError): "
        "check the feed's server, then sync again."
    )


def test_a_sync_whose_job_failed_for_good_is_closed_with_a_sentence_and_a_new_one_starts():
    """A worker lost three times fails the job; its sync, still marked running, must not block the source."""
    source = MediaSource.objects.create(name="feed", kind=SourceKind.HTTP_FEED, api_url="http://127.0.0.1:1/feed")
    stuck = source_sync(source, trigger="test").sync
    SyncRun.objects.filter(pk=stuck.pk).update(status=SyncStatus.RUNNING)
    BackgroundJob.objects.filter(kind="sync", target=stuck.pk).update(
        status=JobStatus.FAILED, error="The worker was lost 3 times while it did this."
    )

    again = source_sync(source, trigger="test")

    assert again.started and again.sync != stuck
    stuck.refresh_from_db()
    assert stuck.status == SyncStatus.FAILED
    assert stuck.sentence == (
        "The sync stopped before it finished (The worker was lost 3 times while it did this); "
        "nothing was marked missing."
    )


def test_a_sync_that_a_command_left_silent_is_closed_and_one_still_going_is_not():
    source = MediaSource.objects.create(name="feed", kind=SourceKind.HTTP_FEED, api_url="http://127.0.0.1:1/feed")
    going = source_sync(source, trigger="command", in_background=False).sync
    SyncRun.objects.filter(pk=going.pk).update(status=SyncStatus.RUNNING, heartbeat_at=timezone.now())
    assert not source_sync(source, trigger="test").started

    SyncRun.objects.filter(pk=going.pk).update(heartbeat_at=timezone.now() - timedelta(hours=1))
    assert source_sync(source, trigger="test").started
    assert SyncRun.objects.get(pk=going.pk).status == SyncStatus.FAILED
