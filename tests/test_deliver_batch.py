"""A curator delivers a batch: each file's final MMIF and the chosen deliverables go to a destination the
operator configured (a folder, or a bucket of an S3-compatible store), one file per GUID with a manifest;
delivering again replaces them in place; each delivery is recorded with what failed per file."""

import hashlib
import json
from pathlib import Path

import boto3
import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import call_command

from deliverables.models import Delivery, FinalMmif
from deliverables.services import batch_deliver, batch_mark_final
from runs.models import Status
from tests.deliverables_helpers import demo_apps, demo_media, mmif_storage, run_demo_batch  # noqa: F401  (fixtures)
from tests.factories import MediaFileFactory, RunFactory
from tests.runner_helpers import wait_for

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("celery_worker", "mmif_storage", "curator"),
]


@pytest.fixture
def folder(settings, tmp_path):
    """A folder destination called "catalog"."""
    target = tmp_path / "deliveries"
    settings.DELIVERY_DESTINATIONS = {"catalog": str(target)}
    return target


def finished(answer) -> Delivery:
    """The delivery the API answered with, once the worker has carried it out."""
    pk = answer.json()["delivery"]["id"]
    return wait_for(lambda: Delivery.objects.filter(pk=pk, finished_at__isnull=False).first(), message="delivery")


@pytest.fixture
def delivered_batch(demo_apps, demo_media, curator):  # noqa: F811
    """The demo batch of two files, run, with the first file's MMIF marked final and the second's not."""
    batch, runs = run_demo_batch(demo_apps, demo_media)
    FinalMmif.objects.create(media_file=runs[0].media_file, pipeline=batch.pipeline, run=runs[0], marked_by=curator)
    return batch, runs


def test_a_curator_delivers_finals_and_captions_to_a_folder_with_a_manifest(
    api, client, folder, delivered_batch, curator
):
    client.force_login(curator)
    batch, [beep, _two_tones] = delivered_batch

    answer = api.post(f"/api/batches/{batch.pk}/deliver/", {"destination": "catalog", "kinds": ["vtt", "transcript"]})

    assert answer.status_code == 202, answer.json()
    assert answer.json()["detail"] == (
        f"Delivering the 2 file(s) of the batch to catalog ({folder}/batch-{batch.pk}) in the background: the "
        "Deliveries list says when it is done and what was not delivered."
    )
    finished(answer)
    out = folder / f"batch-{batch.pk}"
    assert sorted(p.name for p in out.iterdir()) == [
        "demo-beep.mmif",
        "demo-beep.txt",
        "demo-beep.vtt",
        "manifest.json",
    ]
    assert (out / "demo-beep.mmif").read_bytes() == Path(beep.final_mmif.path).read_bytes()
    assert (out / "demo-beep.vtt").read_text().startswith("WEBVTT\n\n00:00:00.000 --> 00:00:00.500\nsilence")
    manifest = json.loads((out / "manifest.json").read_text())
    [entry] = manifest["files"]
    assert (entry["guid"], entry["run"], entry["pipeline"]) == ("demo-beep", beep.pk, batch.pipeline_id)
    assert entry["files"]["demo-beep.vtt"] == hashlib.sha256((out / "demo-beep.vtt").read_bytes()).hexdigest()
    problem = "demo-two-tones has no final MMIF of this pipeline: mark one first."
    assert manifest["failures"] == [{"guid": "demo-two-tones", "problem": problem}]
    delivery = Delivery.objects.get()
    assert (delivery.delivered_by, delivery.files_delivered, delivery.destination) == (curator, 1, "catalog")
    assert delivery.failures == [{"guid": "demo-two-tones", "problem": problem}]
    shown = client.get(f"/admin/deliverables/delivery/{delivery.pk}/change/").content.decode()
    assert f"<li>{problem}</li>" in shown
    listed = api.get("/api/deliveries/", {"batch": batch.pk}).json()["results"]
    assert [(d["id"], d["delivered_by"], d["files_delivered"]) for d in listed] == [(delivery.pk, "curator", 1)]


def test_delivering_again_replaces_the_files_in_place_and_records_a_second_delivery(folder, delivered_batch, curator):
    batch, _runs = delivered_batch
    call_command("deliver_batch", str(batch.pk), "--to", "catalog", "--kind", "srt")
    out = folder / f"batch-{batch.pk}"
    (out / "demo-beep.srt").write_text("edited by hand")
    batch_mark_final(batch, curator)

    call_command("deliver_batch", batch.name, "--to", "catalog", "--kind", "srt", "--user", "curator")

    assert (out / "demo-beep.srt").read_text().startswith("1\n00:00:00,000 --> ")
    assert (out / "demo-two-tones.srt").exists()
    assert sorted(p.name for p in out.iterdir() if p.name.startswith(".")) == []  # no half-written file left
    assert [d.files_delivered for d in Delivery.objects.order_by("pk")] == [1, 2]
    assert Delivery.objects.order_by("pk").last().failures == []


def test_a_file_whose_mmif_gives_no_captions_fails_alone_with_a_sentence(folder, delivered_batch, curator):
    batch, _runs = delivered_batch
    broken = MediaFileFactory(guid="demo-garbled")
    batch.media_files.add(broken)
    stored = default_storage.save("mmif/garbled.mmif", ContentFile(b'{"documents": []}'))
    run = RunFactory(batch=batch, media_file=broken, status=Status.SUCCEEDED, final_mmif=stored)
    FinalMmif.objects.create(media_file=broken, pipeline=batch.pipeline, run=run)

    result = batch_deliver(batch, "catalog", ["vtt"], curator, in_background=False)

    assert result.delivery.files_delivered == 1
    [garbled] = [f for f in result.delivery.failures if f["guid"] == "demo-garbled"]
    assert garbled["problem"].startswith("demo-garbled was not delivered: The MMIF is not valid")
    assert (folder / f"batch-{batch.pk}" / "demo-beep.vtt").exists()


def test_an_unknown_destination_or_deliverable_is_refused_and_nothing_is_recorded(api, folder, delivered_batch):
    batch, _runs = delivered_batch

    unknown = api.post(f"/api/batches/{batch.pk}/deliver/", {"destination": "/etc", "kinds": ["vtt"]}, format="json")
    bad_kind = api.post(
        f"/api/batches/{batch.pk}/deliver/", {"destination": "catalog", "kinds": ["pdf"]}, format="json"
    )

    assert unknown.status_code == 400
    assert unknown.json()["destination"] == ["There is no delivery destination called '/etc': choose one of catalog."]
    assert bad_kind.status_code == 400
    assert not Delivery.objects.exists()
    assert not folder.exists()


def test_viewers_cannot_deliver_in_the_admin_or_through_the_api(api, viewer, viewer_client, folder, delivered_batch):
    batch, _runs = delivered_batch
    api.force_authenticate(viewer)

    assert api.post(f"/api/batches/{batch.pk}/deliver/", {"destination": "catalog"}).status_code == 403
    assert "deliver_batches" not in viewer_client.get("/admin/batches/batch/").content.decode()
    viewer_client.post(
        "/admin/batches/batch/",
        {"action": "deliver_batches", "_selected_action": [batch.pk], "destination": "catalog", "apply": "1"},
    )
    assert not Delivery.objects.exists()
    assert api.get("/api/deliveries/").status_code == 200  # seeing deliveries is viewing


def test_a_delivery_to_an_s3_bucket_writes_one_object_per_guid_and_the_manifest(
    api, settings, monkeypatch, s3_server, delivered_batch
):
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",  # pragma: allowlist secret
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    settings.DELIVERY_S3_ENDPOINT_URL = s3_server
    settings.DELIVERY_DESTINATIONS = {"aapb": "s3://deliveries/chowda/out"}
    s3 = boto3.client("s3", endpoint_url=s3_server)
    s3.create_bucket(Bucket="deliveries")
    batch, _runs = delivered_batch

    answer = api.post(f"/api/batches/{batch.pk}/deliver/", {"destination": "aapb", "kinds": ["timeframes"]})

    assert answer.status_code == 202, answer.json()
    assert answer.json()["delivery"]["target"] == f"s3://deliveries/chowda/out/batch-{batch.pk}"
    assert finished(answer).files_delivered == 1
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket="deliveries")["Contents"])
    prefix = f"chowda/out/batch-{batch.pk}"
    assert keys == [f"{prefix}/demo-beep.csv", f"{prefix}/demo-beep.mmif", f"{prefix}/manifest.json"]
    csv_text = s3.get_object(Bucket="deliveries", Key=f"{prefix}/demo-beep.csv")["Body"].read().decode()
    assert csv_text.splitlines()[:2] == [
        "start,end,label,app",
        "0.000,0.500,silence,http://apps.chowda.example/demo-segmenter/v1",
    ]


def test_a_bucket_that_does_not_exist_is_refused_with_a_sentence(
    api, settings, monkeypatch, s3_server, delivered_batch
):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")  # pragma: allowlist secret
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    settings.DELIVERY_S3_ENDPOINT_URL = s3_server
    settings.DELIVERY_DESTINATIONS = {"aapb": "s3://no-such-bucket/out"}
    batch, _runs = delivered_batch

    answer = api.post(f"/api/batches/{batch.pk}/deliver/", {"destination": "aapb"})

    assert answer.status_code == 409
    assert answer.json()["detail"].startswith("Nothing was delivered: Cannot reach the bucket no-such-bucket")
    assert not Delivery.objects.exists()
