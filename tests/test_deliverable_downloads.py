"""Each deliverable downloads from the run page, and a batch's as one zip with an entry per GUID; Viewers may
download them, as they may the MMIF."""

import io
import zipfile

import pytest
import webvtt

from tests.deliverables_helpers import demo_apps, demo_media, mmif_storage, run_demo_batch  # noqa: F401  (fixtures)
from tests.factories import RunFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("celery_worker", "mmif_storage")]


def test_a_viewer_downloads_a_runs_captions_from_the_run_page(viewer_client, demo_apps, demo_media):  # noqa: F811
    _batch, [run] = run_demo_batch(demo_apps, demo_media, ["two-tones"])
    page = viewer_client.get(f"/runs/{run.pk}/live/").content.decode()
    assert f'href="/runs/{run.pk}/deliverables/vtt"' in page

    answer = viewer_client.get(f"/runs/{run.pk}/deliverables/vtt")

    assert answer.status_code == 200
    assert answer["Content-Disposition"] == 'attachment; filename="demo-two-tones.vtt"'
    captions = webvtt.from_buffer(io.StringIO(answer.content.decode()))
    assert [cue.text for cue in captions] == ["sound", "silence", "sound", "silence"]
    transcript = viewer_client.get(f"/runs/{run.pk}/deliverables/transcript")
    assert transcript.content.decode().startswith("2 stretches of sound totalling 1.8 s")


def test_a_batchs_srt_zip_holds_one_file_per_guid(curator_client, demo_apps, demo_media):  # noqa: F811
    batch, _runs = run_demo_batch(demo_apps, demo_media)
    assert (
        f"/batches/{batch.pk}/deliverables/srt.zip" in curator_client.get(f"/batches/{batch.pk}/live/").content.decode()
    )

    answer = curator_client.get(f"/batches/{batch.pk}/deliverables/srt.zip")

    archive = zipfile.ZipFile(io.BytesIO(b"".join(answer.streaming_content)))
    assert archive.namelist() == ["demo-beep.srt", "demo-two-tones.srt"]
    assert archive.read("demo-beep.srt").decode().startswith("1\n00:00:00,000 --> 00:00:00,500\nsilence\n")


def test_a_run_without_a_final_mmif_or_an_unknown_deliverable_is_not_found(viewer_client):
    run = RunFactory()

    missing = viewer_client.get(f"/runs/{run.pk}/deliverables/vtt")
    unknown = viewer_client.get(f"/runs/{run.pk}/deliverables/pdf")

    assert missing.status_code == unknown.status_code == 404


def test_someone_signed_out_is_sent_to_the_login_page(client):
    run = RunFactory()

    assert client.get(f"/runs/{run.pk}/deliverables/vtt").status_code == 302


def test_the_api_gives_a_runs_deliverable_and_a_batchs_zip_to_a_viewer(api, viewer, demo_apps, demo_media):  # noqa: F811
    batch, [run] = run_demo_batch(demo_apps, demo_media, ["beep"])
    api.force_authenticate(viewer)

    csv_answer = api.get(f"/api/runs/{run.pk}/deliverables/timeframes/")
    zip_answer = api.get(f"/api/batches/{batch.pk}/deliverables/vtt.zip")
    unknown = api.get(f"/api/runs/{run.pk}/deliverables/pdf/")

    assert csv_answer["Content-Type"] == "text/csv; charset=utf-8"
    assert csv_answer.content.decode().splitlines()[1].startswith("0.000,0.500,silence,")
    archive = zipfile.ZipFile(io.BytesIO(b"".join(zip_answer.streaming_content)))
    assert archive.namelist() == ["demo-beep.vtt"]
    assert unknown.status_code == 404
    assert unknown.json() == {
        "detail": "There is no deliverable called 'pdf': ask for one of vtt, srt, transcript, timeframes."
    }
