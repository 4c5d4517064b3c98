"""Start, cancel, retry and download from the admin and the command line."""

import io
import zipfile

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from mmif import Mmif

from runs.models import Run, Status
from tests.factories import BatchFactory, MediaFileFactory, PipelineFactory, PipelineStepFactory
from tests.runner_helpers import register, wait_for, wait_until_finished

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("celery_worker")]
CHANGELIST = reverse("admin:batches_batch_changelist")


@pytest.fixture(autouse=True)
def runner_settings(settings, tmp_path, runner_apps):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    for _url, behaviour in runner_apps.values():
        # A request abandoned by an earlier test (a timeout) may still be running in the app.
        wait_for(lambda b=behaviour: b.in_flight == 0, message="the apps to finish earlier requests")
        behaviour.reset()


@pytest.fixture
def batch(runner_apps):
    pipeline = PipelineFactory()
    PipelineStepFactory(pipeline=pipeline, position=1, app=register(runner_apps, "first"))
    return BatchFactory(name="Nightly", pipeline=pipeline, media_files=MediaFileFactory.create_batch(3))


def act(client, action, batch, **extra):
    return client.post(CHANGELIST, {"action": action, "_selected_action": [batch.pk], **extra}, follow=True)


def test_start_asks_first_saying_how_many_files_will_start(curator_client, batch):
    page = act(curator_client, "start", batch).content.decode()

    assert "3 file(s) will start" in page
    assert not Run.objects.exists()


def test_a_curator_starts_a_batch_and_gets_its_results_as_a_zip(curator_client, batch):
    response = act(curator_client, "start", batch, confirm="Start")
    runs = wait_until_finished(batch)

    assert "Nightly: Started 3 file(s)." in [str(m) for m in response.context["messages"]]
    assert {run.status for run in runs} == {Status.SUCCEEDED}
    download = curator_client.get(reverse("runs:batch_mmif_zip", args=[batch.pk]))
    assert download["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(b"".join(download.streaming_content)))
    assert sorted(archive.namelist()) == sorted(f"{run.media_file.guid}.mmif" for run in runs)
    for name in archive.namelist():
        assert len(Mmif(archive.read(name).decode()).views) == 1


def test_one_runs_final_mmif_downloads_as_guid_dot_mmif(viewer_client, batch):
    call_command("start_batch", str(batch.pk))
    run = wait_until_finished(batch)[0]

    response = viewer_client.get(reverse("runs:run_mmif", args=[run.pk]))

    assert response["Content-Disposition"] == f'attachment; filename="{run.media_file.guid}.mmif"'
    assert Mmif(b"".join(response.streaming_content).decode()).views[0].metadata.app.endswith("first/unresolvable")


def test_downloads_need_a_login(client, batch):
    response = client.get(reverse("runs:batch_mmif_zip", args=[batch.pk]))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_a_failing_start_says_why_and_creates_nothing(curator_client):
    loose = BatchFactory(name="Loose", pipeline=None, media_files=MediaFileFactory.create_batch(1))

    response = act(curator_client, "start", loose, confirm="Start")

    assert any("has no pipeline" in str(m) for m in response.context["messages"])
    assert not Run.objects.exists()


def test_viewers_are_not_offered_start_cancel_or_retry(viewer_client, batch):
    page = viewer_client.get(CHANGELIST).content.decode()

    for action in ("start", "cancel", "retry_failed"):
        assert f'value="{action}"' not in page
    act(viewer_client, "start", batch, confirm="Start")
    assert not Run.objects.exists()


def test_the_commands_print_what_they_did(batch, capsys):
    call_command("start_batch", "Nightly")
    wait_until_finished(batch)
    call_command("cancel_batch", "Nightly")
    call_command("retry_batch", str(batch.pk))

    out = capsys.readouterr().out.splitlines()
    assert out == [
        "Batch 'Nightly': Started 3 file(s).",
        "Batch 'Nightly': No run of the batch is waiting or running: nothing was cancelled.",
        "Batch 'Nightly': No run of the batch failed or was cancelled: nothing was retried.",
    ]


def test_the_commands_refuse_an_unknown_batch():
    with pytest.raises(CommandError, match=r"There is no batch 'Nope': give a batch id or its exact name\."):
        call_command("start_batch", "Nope")
