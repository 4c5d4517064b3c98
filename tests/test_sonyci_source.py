"""A Sony Ci workspace as a media source, against the loopback stand-in of Sony Ci's API (tests/sonyci_standin.py):
synced page by page, and its assets staged for a real CLAMS app through a fresh signed link each time."""

from pathlib import Path

import pytest
from django.core.files.storage import default_storage
from django.core.management import CommandError, call_command
from mmif import Mmif

from batches.models import MediaFile
from runs.models import Status
from runs.services import batch_start
from sources.models import MediaSource, SourceKind, SyncRun
from tests.factories import BatchFactory, PipelineFactory, PipelineStepFactory
from tests.runner_helpers import register, wait_until_finished
from tests.sonyci_standin import SonyCiStandIn


@pytest.fixture
def sonyci(monkeypatch):
    with SonyCiStandIn() as ci:
        account = ci.credentials
        for suffix, key in [
            ("USERNAME", "username"),
            ("PASSWORD", "password"),
            ("CLIENT_ID", "client_id"),
            ("CLIENT_SECRET", "client_secret"),
        ]:
            monkeypatch.setenv(f"TESTCI_{suffix}", account[key])
        yield ci


def ci_source(ci) -> MediaSource:
    return MediaSource.objects.create(
        name="Sony Ci", kind=SourceKind.SONYCI, workspace_id=ci.workspace_id, api_url=ci.url, credentials_env="TESTCI"
    )


def sync(source) -> SyncRun:
    call_command("sync_media", str(source.pk), "--wait", stdout=open("/dev/null", "w"))  # noqa: SIM115
    return SyncRun.objects.filter(source=source).latest("pk")


@pytest.mark.django_db
def test_a_workspace_is_synced_page_by_page_and_an_asset_removed_there_is_missing_here(sonyci):
    assets = sonyci.add_assets(250)
    sonyci.add_asset("cpb-aacip-999-00000001_transcript.txt", b"words", type="Document")
    sonyci.add_asset("station-promo.mp4", b"promo")
    source = ci_source(sonyci)

    first = sync(source)

    assert first.status == "succeeded", first.sentence
    assert (first.pages, first.new, first.skipped) == (3, 250, 1)  # the document is not media; the promo no GUID
    media = MediaFile.objects.get(guid="cpb-aacip-000-00000007")
    assert media.location == f"sonyci://{sonyci.workspace_id}/{assets[7].asset_id}"
    assert media.document_type == "video"
    assert sonyci.tokens_issued == 1

    sonyci.remove_asset(assets[7].asset_id)
    second = sync(source)
    assert (second.new, second.unchanged, second.missing) == (0, 249, 1)
    assert MediaFile.objects.get(guid="cpb-aacip-000-00000007").missing_since is not None


@pytest.mark.django_db
def test_a_wrong_password_fails_the_sync_with_a_sentence_that_never_shows_it(sonyci, monkeypatch):
    sonyci.add_assets(3)
    source = ci_source(sonyci)
    sync(source)
    sonyci.remove_asset(sonyci.assets[0].asset_id)
    monkeypatch.setenv("TESTCI_PASSWORD", "not-the-password-42")  # pragma: allowlist secret

    with pytest.raises(CommandError) as refused:
        call_command("sync_media", "Sony Ci", "--wait", stdout=open("/dev/null", "w"))  # noqa: SIM115

    said = str(refused.value)
    assert said.startswith("Source 'Sony Ci': ") and "nothing was marked missing" in said
    assert "not-the-password-42" not in said and sonyci.client_secret not in said
    assert not MediaFile.objects.filter(missing_since__isnull=False).exists()


@pytest.mark.django_db
def test_a_source_whose_credentials_are_not_set_says_which_variables_to_set(sonyci, monkeypatch):
    monkeypatch.delenv("TESTCI_CLIENT_SECRET")
    source = ci_source(sonyci)

    with pytest.raises(CommandError) as refused:
        call_command("sync_media", "Sony Ci", "--wait", stdout=open("/dev/null", "w"))  # noqa: SIM115

    assert "the environment variable TESTCI_CLIENT_SECRET is not set for the workers" in str(refused.value)
    assert dict(source.credentials_status()) == {
        "TESTCI_USERNAME": True,
        "TESTCI_PASSWORD": True,
        "TESTCI_CLIENT_ID": True,
        "TESTCI_CLIENT_SECRET": False,
    }


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("celery_worker")
def test_a_run_stages_a_sony_ci_asset_through_a_fresh_signed_link_and_the_mmif_keeps_its_sonyci_location(
    sonyci, settings, tmp_path, idle_runner_apps
):
    settings.SCRATCH_ROOT = str(tmp_path / "scratch")
    asset = sonyci.add_asset("cpb-aacip-500-00000001.mp4", b"the bytes of a programme")
    source = ci_source(sonyci)
    sync(source)
    media = MediaFile.objects.get()
    pipeline = PipelineFactory()
    app = register(idle_runner_apps, "first")  # an app that reads what it is given: the location must be staged
    PipelineStepFactory(pipeline=pipeline, position=1, app=app, parameters={"needs_file": True})
    batch = BatchFactory(pipeline=pipeline, media_files=[media])

    batch_start(batch)
    [run] = wait_until_finished(batch)

    assert run.status == Status.SUCCEEDED, run.steps.get().error_message
    assert sonyci.hits[f"/assets/{asset.asset_id}/download"] == 1
    [seen] = idle_runner_apps["first"][1].locations
    assert seen.startswith(f"file://{Path(settings.SCRATCH_ROOT).resolve()}/")
    with default_storage.open(run.final_mmif.name) as stored:
        assert Mmif(stored.read().decode()).documents[0].location == media.location  # sonyci://…, never the link
