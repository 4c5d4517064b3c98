"""Media that apps cannot read where the archive keeps it is staged once into the shared scratch folder."""

from pathlib import Path

import boto3
import pytest
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from mmif import Mmif

from batches.models import validate_location
from runs.inputs import batch_inputs_upload
from runs.models import Status
from runs.services import batch_cancel, batch_start
from tests.factories import BatchFactory, MediaFileFactory, PipelineFactory, PipelineStepFactory
from tests.runner_helpers import register, wait_for, wait_until_finished
from tests.staging_helpers import MediaServer

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("celery_worker")]


@pytest.fixture(scope="session")
def media_server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("archive")
    server = MediaServer(folder)
    yield server
    server.stop()


@pytest.fixture
def scratch(settings, tmp_path, idle_runner_apps, media_server):
    settings.SCRATCH_ROOT = str(tmp_path / "scratch")
    settings.SCRATCH_WAIT = 0.2
    settings.STEP_RETRY_BACKOFF = 0.05
    media_server.gets.clear()
    media_server.redirects.clear()
    media_server.head = True
    return Path(settings.SCRATCH_ROOT)


def archive_file(media_server, name: str, size: int = 3000):
    (media_server.folder / name).write_bytes(bytes(range(256)) * (size // 256) + b"x" * (size % 256))
    return MediaFileFactory(location=f"{media_server.url}/{name}")


def staged_batch(runner_apps, files, *, second=None):
    pipeline = PipelineFactory()
    PipelineStepFactory(pipeline=pipeline, position=1, app=register(runner_apps, "first", media_access="local"))
    PipelineStepFactory(pipeline=pipeline, position=2, app=register(runner_apps, "second"), parameters=second or {})
    return BatchFactory(pipeline=pipeline, media_files=files)


def one_app_batch(runner_apps, media, **app_fields):
    """A batch of one file whose pipeline is the "first" app alone, registered with ``app_fields``."""
    pipeline = PipelineFactory()
    PipelineStepFactory(pipeline=pipeline, position=1, app=register(runner_apps, "first", **app_fields))
    return BatchFactory(pipeline=pipeline, media_files=[media])


def staged_files(scratch: Path) -> list[Path]:
    return [path for path in scratch.rglob("*") if path.is_file() and path.name != ".lock"] if scratch.exists() else []


def test_a_file_on_a_web_server_is_fetched_once_and_every_app_reads_the_staged_copy(scratch, runner_apps, media_server):
    files = [archive_file(media_server, f"tape-{n}.mp4") for n in range(2)]
    batch = staged_batch(runner_apps, files)

    batch_start(batch)
    runs = wait_until_finished(batch)

    assert [run.status for run in runs] == [Status.SUCCEEDED] * 2
    assert media_server.gets == {"/tape-0.mp4": 1, "/tape-1.mp4": 1}
    seen = set(runner_apps["first"][1].locations) | set(runner_apps["second"][1].locations)
    assert len(seen) == 2 and all(location.startswith(f"file://{scratch.resolve()}/") for location in seen)
    for run in runs:  # what Chowda keeps names where the archive keeps the file, never the scratch copy
        assert [kept_location(step.output_mmif) for step in run.steps.all()] == [run.media_file.location] * 2
    wait_for(lambda: not staged_files(scratch), message="the staged copies to be removed")


def kept_location(stored) -> str:
    with default_storage.open(stored.name) as f:
        return Mmif(f.read().decode()).documents[0].location


def test_a_staged_runs_output_names_the_files_own_location_and_another_batch_runs_on_it(
    scratch, runner_apps, media_server
):
    media = archive_file(media_server, "tape-reused.mp4")
    reads_file = {"needs_file": True}
    first = BatchFactory(pipeline=PipelineFactory(), media_files=[media])
    PipelineStepFactory(
        pipeline=first.pipeline,
        position=1,
        app=register(runner_apps, "first", media_access="local"),
        parameters=reads_file,
    )
    batch_start(first)
    [done] = wait_until_finished(first)
    assert done.status == Status.SUCCEEDED, done.error
    assert kept_location(done.final_mmif) == media.location
    wait_for(lambda: not staged_files(scratch), message="the staged copy to be removed")

    # A batch that starts from that output stages the file again for its own app, which reads it.
    second = BatchFactory(pipeline=PipelineFactory(), media_files=[media], input_batch=first)
    PipelineStepFactory(
        pipeline=second.pipeline,
        position=1,
        app=register(runner_apps, "second", media_access="local"),
        parameters=reads_file,
    )
    batch_start(second)
    [then] = wait_until_finished(second)
    assert then.status == Status.SUCCEEDED, then.error
    assert kept_location(then.final_mmif) == media.location
    [seen] = runner_apps["second"][1].locations
    assert seen.startswith(f"file://{scratch.resolve()}/")
    assert media_server.gets == {"/tape-reused.mp4": 2}

    # Chowda's own output is a valid upload for another batch of the same file.
    third = BatchFactory(pipeline=second.pipeline, media_files=[media])
    with default_storage.open(then.final_mmif.name) as f:
        chosen = batch_inputs_upload(third, ContentFile(f.read(), name=f"{media.guid}.mmif"))
    assert chosen.files == 1


def test_an_app_under_a_media_root_is_sent_the_path_where_it_sees_the_scratch_folder(
    scratch, runner_apps, tmp_path, settings
):
    settings.MEDIA_FILE_ROOTS = [str(tmp_path)]
    local = tmp_path / "tape.wav"
    local.write_bytes(b"RIFF" * 100)
    media = MediaFileFactory(location=f"file://{local}", mime_type="video/mp4")
    batch = one_app_batch(runner_apps, media, media_access="media_root", media_root="/data")

    batch_start(batch)
    [run] = wait_until_finished(batch)

    assert run.status == Status.SUCCEEDED
    assert list(runner_apps["first"][1].locations) == [f"file:///data/{media.pk}-{media.guid}/tape.wav"]


def test_an_app_that_reads_locations_directly_gets_the_archive_location_and_nothing_is_staged(
    scratch, runner_apps, media_server
):
    media = archive_file(media_server, "direct.mp4")
    batch = one_app_batch(runner_apps, media)

    batch_start(batch)
    [run] = wait_until_finished(batch)

    assert run.status == Status.SUCCEEDED
    assert list(runner_apps["first"][1].locations) == [media.location]
    assert media_server.gets == {}


def test_a_failed_run_leaves_no_staged_copy(scratch, runner_apps, media_server):
    batch = staged_batch(runner_apps, [archive_file(media_server, "fails.mp4")], second={"explode": True})

    batch_start(batch)
    [run] = wait_until_finished(batch)

    assert run.status == Status.FAILED
    assert media_server.gets == {"/fails.mp4": 1}
    wait_for(lambda: not staged_files(scratch), message="the staged copy to be removed")


def test_a_cancelled_run_leaves_no_staged_copy(scratch, runner_apps, media_server):
    runner_apps["first"][1].delay = 1.0
    batch = staged_batch(runner_apps, [archive_file(media_server, "cancelled.mp4")])

    batch_start(batch)
    wait_for(lambda: runner_apps["first"][1].in_flight == 1, message="the app to work on the staged copy")
    assert len(staged_files(scratch)) == 1
    batch_cancel(batch)
    [run] = wait_until_finished(batch)

    assert run.status == Status.CANCELLED
    wait_for(lambda: not staged_files(scratch), message="the staged copy to be removed")


@pytest.mark.parametrize("where", ["missing", "refused"])
def test_a_location_that_cannot_be_fetched_fails_the_run_with_a_sentence_naming_it(
    where, scratch, runner_apps, media_server, unreachable_url
):
    location = f"{media_server.url}/missing.mp4" if where == "missing" else f"{unreachable_url}tape.mp4"
    batch = staged_batch(runner_apps, [MediaFileFactory(location=location)])

    batch_start(batch)
    [run] = wait_until_finished(batch)

    assert run.status == Status.FAILED
    reason = "the server answered HTTP 404" if where == "missing" else "the server cannot be reached"
    assert f"Could not fetch the media file at {location}: {reason}" in run.error
    assert runner_apps["first"][1].requests == 0
    assert not staged_files(scratch)


def test_runs_wait_for_room_in_the_scratch_budget_instead_of_failing(scratch, settings, runner_apps, media_server):
    settings.SCRATCH_BUDGET = 4000  # one 3000-byte file at a time
    runner_apps["second"][1].delay = 0.2
    files = [archive_file(media_server, f"budget-{n}.mp4") for n in range(3)]
    batch = staged_batch(runner_apps, files)

    batch_start(batch)
    runs = wait_until_finished(batch)

    assert [run.status for run in runs] == [Status.SUCCEEDED] * 3, [run.error for run in runs]
    assert sorted(media_server.gets.values()) == [1, 1, 1]
    assert runner_apps["first"][1].max_in_flight == 1


def test_a_server_that_does_not_answer_head_is_staged_from_its_get(scratch, runner_apps, media_server):
    media_server.head = False
    batch = staged_batch(runner_apps, [archive_file(media_server, "no-head.mp4")])

    batch_start(batch)
    [run] = wait_until_finished(batch)

    assert run.status == Status.SUCCEEDED
    assert media_server.gets["/no-head.mp4"] == 1
    [location] = runner_apps["first"][1].locations
    assert location.startswith(f"file://{scratch.resolve()}/")  # the app was sent the staged copy


def test_a_file_larger_than_the_whole_budget_fails_with_a_sentence(scratch, settings, runner_apps, media_server):
    settings.SCRATCH_BUDGET = 1000
    batch = staged_batch(runner_apps, [archive_file(media_server, "huge.mp4")])

    batch_start(batch)
    [run] = wait_until_finished(batch)

    assert run.status == Status.FAILED
    assert "more than the whole scratch budget (1000 bytes, CHOWDA_SCRATCH_BUDGET)" in run.error


@pytest.fixture
def s3(s3_server, settings, monkeypatch):
    endpoint = s3_server
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")  # pragma: allowlist secret
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    settings.S3_ENDPOINT_URL = endpoint
    client = boto3.client("s3", endpoint_url=endpoint)
    client.create_bucket(Bucket="archive")
    return client


def test_a_file_in_an_s3_bucket_is_staged_for_every_app(scratch, s3, runner_apps):
    s3.put_object(Bucket="archive", Key="tapes/s3-tape.mp4", Body=b"s3 media " * 500)
    media = MediaFileFactory(location="s3://archive/tapes/s3-tape.mp4")
    batch = one_app_batch(runner_apps, media)

    batch_start(batch)
    [run] = wait_until_finished(batch)

    assert run.status == Status.SUCCEEDED
    assert list(runner_apps["first"][1].locations) == [
        f"file://{scratch.resolve()}/{media.pk}-{media.guid}/s3-tape.mp4"
    ]
    wait_for(lambda: not staged_files(scratch), message="the staged copy to be removed")


def test_a_missing_s3_key_fails_the_run_with_a_sentence(scratch, s3, runner_apps):
    media = MediaFileFactory(location="s3://archive/tapes/nowhere.mp4")
    batch = staged_batch(runner_apps, [media])

    batch_start(batch)
    [run] = wait_until_finished(batch)

    assert run.status == Status.FAILED
    assert "Could not fetch the media file at s3://archive/tapes/nowhere.mp4: NoSuchKey" in run.error


@pytest.mark.django_db
def test_an_s3_location_needs_a_bucket_and_a_key():
    validate_location("s3://archive/tapes/a.mp4")
    with pytest.raises(ValidationError, match=r"write the bucket and the key, as in s3://archive/guid\.mp4"):
        validate_location("s3://archive/")


@pytest.mark.parametrize(
    ("where", "address"),
    [("link-local", "169.254.169.254"), ("redirected to link-local", "169.254.169.254"), ("unspecified", "0.0.0.0")],
)
def test_a_location_on_an_address_that_holds_no_archive_is_not_fetched(
    where, address, scratch, runner_apps, media_server
):
    # Cloud metadata services answer at 169.254.169.254: a media location must not make a worker fetch there.
    if where.startswith("redirected"):
        media_server.redirects["/moved.mp4"] = f"http://{address}/latest/meta-data/"
        location = f"{media_server.url}/moved.mp4"
    else:
        location = f"http://{address}/latest/meta-data/"
    batch = staged_batch(runner_apps, [MediaFileFactory(location=location)])

    batch_start(batch)
    [run] = wait_until_finished(batch)

    assert run.status == Status.FAILED
    kind = "unspecified addresses" if address == "0.0.0.0" else "link-local addresses"
    assert (
        f"Could not fetch the media file at {location}: Chowda does not fetch media from {kind} such as {address}"
        in (run.error)
    )
    assert runner_apps["first"][1].requests == 0
    assert not staged_files(scratch)


def test_a_redirect_away_from_http_is_not_followed(scratch, runner_apps, media_server):
    media_server.redirects["/to-a-file.mp4"] = "file:///etc/hostname"
    location = f"{media_server.url}/to-a-file.mp4"
    batch = staged_batch(runner_apps, [MediaFileFactory(location=location)])

    batch_start(batch)
    [run] = wait_until_finished(batch)

    assert run.status == Status.FAILED
    assert (
        f"Could not fetch the media file at {location}: Chowda fetches media over http or https from a named host "
        "only, not from file:///etc/hostname."
    ) in run.error
    assert not staged_files(scratch)


def test_a_local_file_outside_the_media_file_roots_is_not_staged(scratch, runner_apps, settings, tmp_path):
    # A staged copy goes where the apps read it, and from there into their MMIF: a location must not make a
    # worker copy its own secrets (its environment, the site's key) there.
    settings.MEDIA_FILE_ROOTS = [str(tmp_path / "archive")]
    media = MediaFileFactory(location="file:///proc/self/environ", mime_type="text/plain", document_type="text")
    batch = one_app_batch(runner_apps, media, media_access="media_root", media_root="/data")

    batch_start(batch)
    [run] = wait_until_finished(batch)

    assert run.status == Status.FAILED
    assert (
        "Could not fetch the media file at file:///proc/self/environ: Chowda reads local media files only under "
        f"CHOWDA_MEDIA_FILE_ROOTS ({tmp_path / 'archive'}): move the file there, or ask an operator to add its folder."
    ) in run.error
    assert runner_apps["first"][1].requests == 0
    assert not staged_files(scratch)
