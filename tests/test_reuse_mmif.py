"""Curators reuse earlier MMIF: a batch starts from chosen runs, from files' latest MMIF, or from uploads,
and the apps whose output that MMIF holds are not called again."""

import io
import json
import zipfile

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from mmif import Mmif
from rest_framework.test import APIClient

from batches.mmif import source_mmif
from batches.models import Batch
from runs import inputs
from runs.models import BatchInput, Run, Status
from runs.services import Pilot, RunnerError, StartFrom, batch_start
from tests.factories import BatchFactory, MediaFileFactory, PipelineFactory, PipelineStepFactory
from tests.runner_helpers import register, wait_until_finished

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("celery_worker")]


@pytest.fixture
def apps(idle_runner_apps):
    return {name: register(idle_runner_apps, name) for name in ("first", "second")}


def pipeline_of(apps, *names, pipeline_name=None):
    pipeline = PipelineFactory(name=pipeline_name or " then ".join(names))
    for position, name in enumerate(names, start=1):
        PipelineStepFactory(pipeline=pipeline, position=position, app=apps[name], parameters={"label": name})
    return pipeline


@pytest.fixture
def ran(apps):
    """Three files run through both apps."""
    batch = BatchFactory(name="Both apps", pipeline=pipeline_of(apps, "first", "second"))
    batch.media_files.set([MediaFileFactory(guid=f"cpb-aacip-{n}") for n in (1, 2, 3)])
    batch_start(batch)
    runs = wait_until_finished(batch)
    assert {run.status for run in runs} == {Status.SUCCEEDED}
    return batch, runs


def view_apps(run) -> list[str]:
    with default_storage.open(run.final_mmif.name) as f:
        return [view.metadata.app.split("/")[-2] for view in Mmif(f.read().decode()).views]


def requests_of(runner_apps, name) -> int:
    return runner_apps[name][1].requests


def test_a_batch_of_earlier_runs_runs_only_the_later_app_and_keeps_the_earlier_views(ran, apps, idle_runner_apps):
    _batch, runs = ran
    first_calls, second_calls = requests_of(idle_runner_apps, "first"), requests_of(idle_runner_apps, "second")

    result = inputs.batch_from_runs(
        Run.objects.filter(pk__in=[run.pk for run in runs]), name="Second again", pipeline=pipeline_of(apps, "second")
    )
    start = batch_start(result.batch)
    reused = wait_until_finished(result.batch)

    assert result.sentence == (
        "Created batch 'Second again' of 3 file(s), each starting from the final MMIF of its selected run."
    )
    assert start.started == 3
    assert requests_of(idle_runner_apps, "first") == first_calls  # never paid twice
    assert requests_of(idle_runner_apps, "second") == second_calls + 3
    assert {run.status for run in reused} == {Status.SUCCEEDED}
    assert [view_apps(run) for run in reused] == [["first", "second", "second"]] * 3
    assert [run.input_origin for run in reused] == [f"run #{run.pk} of batch 'Both apps'" for run in runs]


def test_the_live_pages_say_which_input_each_run_used(ran, apps, curator_client):
    _batch, runs = ran
    result = inputs.batch_from_runs(Run.objects.filter(pk=runs[0].pk), name="One", pipeline=pipeline_of(apps, "second"))
    batch_start(result.batch)
    [reused] = wait_until_finished(result.batch)

    run_page = curator_client.get(reverse("runs:run_live", args=[reused.pk])).content.decode()
    batch_page = curator_client.get(reverse("runs:batch_live", args=[result.batch.pk]))

    assert f"run #{runs[0].pk} of batch &#x27;Both apps&#x27;" in run_page
    [row] = batch_page.context["snapshot"]["rows"]
    assert row["run"]["input"] == f"run #{runs[0].pk} of batch 'Both apps'"
    blank = curator_client.get(reverse("runs:run_live", args=[runs[0].pk])).content.decode()
    assert "a blank MMIF of the media file" in blank


def test_a_run_that_did_not_succeed_or_a_file_chosen_twice_creates_nothing(ran, apps):
    batch, runs = ran
    failed = Run.objects.create(batch=batch, media_file=runs[0].media_file, status=Status.FAILED, superseded=True)

    with pytest.raises(inputs.InputsError, match=r"cpb-aacip-1 .* did not succeed\. Leave those out"):
        inputs.batch_from_runs(Run.objects.filter(pk=failed.pk), name="x", pipeline=batch.pipeline)
    again = BatchFactory(name="Again", pipeline=batch.pipeline, media_files=[runs[0].media_file])
    batch_start(again)
    [second] = wait_until_finished(again)
    with pytest.raises(inputs.InputsError, match="cpb-aacip-1 has more than one selected run"):
        inputs.batch_from_runs(Run.objects.filter(pk__in=[runs[0].pk, second.pk]), name="x", pipeline=batch.pipeline)

    assert not Batch.objects.filter(name="x").exists()


def test_each_files_latest_mmif_of_a_pipeline_starts_a_new_batch_and_a_file_without_one_is_named(ran, apps):
    batch, runs = ran
    newcomer = MediaFileFactory(guid="cpb-aacip-9")
    files = [run.media_file for run in runs]

    with pytest.raises(inputs.InputsError) as refused:
        inputs.batch_from_latest(
            batch.media_files.model.objects.filter(pk__in=[f.pk for f in [*files, newcomer]]),
            name="Latest",
            pipeline=pipeline_of(apps, "second"),
            from_pipeline=batch.pipeline,
        )
    assert str(refused.value) == (
        f"Nothing was created: cpb-aacip-9 has no successful run of pipeline '{batch.pipeline.name}' to start from. "
        "Leave those files out, or run them first."
    )
    assert not Batch.objects.filter(name="Latest").exists()

    result = inputs.batch_from_latest(
        batch.media_files.all(),
        name="Latest",
        pipeline=pipeline_of(apps, "second", pipeline_name="Second, again"),
        from_pipeline=batch.pipeline,
    )
    assert result.sentence == (
        f"Created batch 'Latest' of 3 file(s), each starting from its latest successful MMIF of pipeline "
        f"'{batch.pipeline.name}'."
    )
    assert sorted(BatchInput.objects.filter(batch=result.batch).values_list("mmif", flat=True)) == sorted(
        run.final_mmif.name for run in runs
    )


def zipped(files: dict[str, str | bytes], name: str = "inputs.zip") -> ContentFile:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for member, content in files.items():
            archive.writestr(member, content)
    return ContentFile(buffer.getvalue(), name=name)


@pytest.fixture
def target(apps):
    files = [MediaFileFactory(guid=f"cpb-aacip-{n}") for n in (11, 12)]
    batch = BatchFactory(name="From elsewhere", pipeline=pipeline_of(apps, "second"))
    batch.media_files.set(files)
    return batch, files


def test_uploaded_mmif_of_every_file_is_what_each_run_starts_from(target, idle_runner_apps):
    batch, files = target
    upload = zipped({f"{f.guid}.mmif": source_mmif(f) for f in files})

    result = inputs.batch_inputs_upload(batch, upload)
    batch_start(batch)
    runs = wait_until_finished(batch)

    assert result.sentence == "Batch 'From elsewhere': 2 file(s) will start from the uploaded MMIF."
    assert {run.status for run in runs} == {Status.SUCCEEDED}
    assert [run.input_origin for run in runs] == [
        "uploaded cpb-aacip-11.mmif (in inputs.zip)",
        "uploaded cpb-aacip-12.mmif (in inputs.zip)",
    ]
    assert requests_of(idle_runner_apps, "first") == 0


def wrong_document(media_file) -> str:
    other = MediaFileFactory.build(guid="other", location="file:///media/elsewhere.mp4")
    return source_mmif(other)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (lambda f: "{not json", "cpb-aacip-11.mmif: it is not JSON"),
        (lambda f: json.dumps({"metadata": {}}), "cpb-aacip-11.mmif: it is not valid MMIF"),
        (
            wrong_document,
            "cpb-aacip-11.mmif: its documents (file:///media/elsewhere.mp4 (VideoDocument)) do not include "
            "cpb-aacip-11's media file file:///media/cpb-aacip-11.mp4 (VideoDocument); upload the MMIF made from "
            "that file.",
        ),
    ],
)
def test_a_bad_mmif_in_an_upload_stores_nothing_and_names_the_file(target, content, message):
    batch, files = target
    upload = zipped({"cpb-aacip-11.mmif": content(files[0]), "cpb-aacip-12.mmif": source_mmif(files[1])})

    with pytest.raises(inputs.InputsError) as refused:
        inputs.batch_inputs_upload(batch, upload)

    assert str(refused.value).startswith(f"Nothing was stored. {message}")
    assert not BatchInput.objects.exists()
    assert not default_storage.exists(f"inputs/batch-{batch.pk}/cpb-aacip-12.mmif")


def test_an_upload_for_a_guid_outside_the_batch_or_not_a_mmif_file_is_refused(target):
    batch, files = target

    with pytest.raises(inputs.InputsError, match="batch 'From elsewhere' has no file cpb-aacip-99"):
        inputs.batch_inputs_upload(batch, ContentFile(source_mmif(files[0]), name="cpb-aacip-99.mmif"))
    with pytest.raises(inputs.InputsError, match=r"holds notes\.txt, which is not a \.mmif or \.json file"):
        inputs.batch_inputs_upload(batch, zipped({"notes.txt": "hello"}))
    with pytest.raises(inputs.InputsError, match="is not a zip file that can be read"):
        inputs.batch_inputs_upload(batch, ContentFile(b"PK not really", name="broken.zip"))
    assert not BatchInput.objects.exists()


def test_a_zip_that_unpacks_past_the_limit_is_refused_unread(target, settings):
    batch, _files = target
    settings.INPUT_UPLOAD_MAX_BYTES = 2000
    upload = zipped({"cpb-aacip-11.mmif": " " * 5000})  # compresses to a few bytes

    with pytest.raises(inputs.InputsError, match="unpacks to more than 2,000 bytes"):
        inputs.batch_inputs_upload(batch, upload)


def test_the_api_builds_a_batch_from_runs_and_takes_an_upload(ran, apps, api, target):
    _batch, runs = ran
    second = pipeline_of(apps, "second", pipeline_name="Second only")

    created = api.post(
        "/api/batches/from-runs/",
        {"name": "API reuse", "pipeline": second.pk, "runs": [run.pk for run in runs]},
        format="json",
    )
    batch, files = target
    uploaded = api.post(
        f"/api/batches/{batch.pk}/inputs/",
        {"file": ContentFile(source_mmif(files[0]).encode(), name=f"{files[0].guid}.mmif")},
        format="multipart",
    )
    refused = api.post(
        "/api/batches/from-latest-mmif/",
        {"name": "Nope", "pipeline": second.pk, "media_files": [files[1].pk]},
        format="json",
    )

    assert created.status_code == 201, created.json()
    assert created.json()["files"] == 3
    assert BatchInput.objects.filter(batch_id=created.json()["batch"]).count() == 3
    assert uploaded.status_code == 200, uploaded.json()
    assert uploaded.json()["detail"] == "Batch 'From elsewhere': 1 file(s) will start from the uploaded MMIF."
    assert refused.status_code == 409
    assert "cpb-aacip-12 has no successful run" in refused.json()["detail"]
    schema = api.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    assert {"/api/batches/from-runs/", "/api/batches/from-latest-mmif/", "/api/batches/{id}/inputs/"} <= set(
        schema["paths"]
    )


def test_viewers_can_reuse_or_upload_nothing(ran, apps, viewer, viewer_client, target):
    _batch, runs = ran
    batch, _files = target
    viewer_api = APIClient()
    viewer_api.force_authenticate(viewer)

    answers = [
        viewer_api.post("/api/batches/from-runs/", {"name": "x", "pipeline": 1, "runs": [runs[0].pk]}, format="json"),
        viewer_api.post("/api/batches/from-latest-mmif/", {"name": "x"}, format="json"),
        viewer_api.post(f"/api/batches/{batch.pk}/inputs/", {}, format="multipart"),
        viewer_client.get(reverse("admin:batches_batch_upload_inputs", args=[batch.pk])),
    ]

    assert [answer.status_code for answer in answers] == [403, 403, 403, 403]
    actions = viewer_client.get(reverse("admin:runs_run_changelist")).context["action_form"].fields["action"]
    assert "batch_from_selected_runs" not in dict(actions.choices)
    assert not BatchInput.objects.exists()


def test_the_admin_builds_a_batch_from_selected_runs_and_uploads_mmif(ran, apps, curator_client, target):
    _batch, runs = ran
    second = pipeline_of(apps, "second", pipeline_name="Second only")

    response = curator_client.post(
        reverse("admin:runs_run_changelist"),
        {
            "action": "batch_from_selected_runs",
            "_selected_action": [run.pk for run in runs],
            "apply": "Create",
            "name": "Admin reuse",
            "pipeline": second.pk,
        },
        follow=True,
    )
    batch, files = target
    page = curator_client.post(
        reverse("admin:batches_batch_upload_inputs", args=[batch.pk]),
        {"file": ContentFile(b"{not json", name=f"{files[0].guid}.mmif")},
    )

    assert [str(m) for m in response.context["messages"]] == [
        "Created batch 'Admin reuse' of 3 file(s), each starting from the final MMIF of its selected run."
    ]
    assert "cpb-aacip-11.mmif: it is not JSON" in page.content.decode()
    assert not BatchInput.objects.filter(batch=batch).exists()


def test_the_command_uploads_mmif_and_says_what_is_wrong(target, tmp_path, capsys):
    batch, files = target
    good = tmp_path / f"{files[0].guid}.mmif"
    good.write_text(source_mmif(files[0]))
    bad = tmp_path / "cpb-aacip-77.mmif"
    bad.write_text(source_mmif(files[0]))

    call_command("upload_inputs", str(batch.pk), str(good))
    with pytest.raises(CommandError, match="has no file cpb-aacip-77"):
        call_command("upload_inputs", str(batch.pk), str(bad))

    assert "1 file(s) will start from the uploaded MMIF" in capsys.readouterr().out
    assert BatchInput.objects.filter(batch=batch).count() == 1


def test_a_start_takes_its_input_from_another_batch_or_a_blank_mmif_for_that_start_only(ran, apps, idle_runner_apps):
    source, runs = ran
    later = BatchFactory(name="Later", pipeline=pipeline_of(apps, "second", pipeline_name="Second"))
    later.media_files.set([run.media_file for run in runs])
    first_calls = requests_of(idle_runner_apps, "first")

    result = batch_start(later, pilot=Pilot(first=2), start_from=StartFrom(batch=source))
    from_batch = wait_until_finished(later)
    blank = batch_start(later, start_from=StartFrom(blank=True))
    wait_until_finished(later)

    assert result.started == 2
    assert [run.input_origin for run in from_batch] == ["the output of batch 'Both apps'"] * 2
    assert [view_apps(run) for run in from_batch] == [["first", "second", "second"]] * 2
    assert blank.started == 1
    assert Run.objects.filter(batch=later).order_by("-pk").first().input_origin == "a blank MMIF of the media file"
    assert requests_of(idle_runner_apps, "first") == first_calls
    later.refresh_from_db()
    assert later.input_batch is None  # the batch itself is unchanged


def test_the_start_from_choice_is_refused_when_it_names_the_batch_itself_or_two_inputs(ran):
    batch, _runs = ran
    with pytest.raises(RunnerError, match="cannot start from its own output"):
        batch_start(batch, start_from=StartFrom(batch=batch))
    with pytest.raises(RunnerError, match="Choose one input for this start"):
        batch_start(batch, start_from=StartFrom(blank=True, batch=batch))


def test_the_api_and_the_command_start_from_a_pipelines_latest_mmif(ran, apps, api, capsys):
    source, runs = ran
    later = BatchFactory(name="Later", pipeline=pipeline_of(apps, "second", pipeline_name="Second"))
    later.media_files.set([run.media_file for run in runs])

    response = api.post(
        f"/api/batches/{later.pk}/start/",
        {"pilot": {"first": 1}, "start_from": {"pipeline": source.pipeline.pk}},
        format="json",
    )
    call_command("start_batch", "Later", "--first", "1", "--from-batch", "Both apps")
    wait_until_finished(later)

    assert response.status_code == 200, response.json()
    origins = list(Run.objects.filter(batch=later).order_by("pk").values_list("input_origin", flat=True))
    assert origins == [f"the latest MMIF of pipeline '{source.pipeline.name}'", "the output of batch 'Both apps'"]
    assert "Started 1 file(s) as a pilot" in capsys.readouterr().out


def test_the_admin_start_page_chooses_the_input_for_that_start(ran, apps, curator_client):
    source, runs = ran
    later = BatchFactory(name="Later", pipeline=pipeline_of(apps, "second", pipeline_name="Second"))
    later.media_files.set([run.media_file for run in runs])
    form = {"action": "start", "_selected_action": [later.pk], "confirm": "Start", "source": "batch"}
    changelist = reverse("admin:batches_batch_changelist")

    asked = curator_client.post(changelist, form).content.decode()
    started = curator_client.post(changelist, {**form, "source_batch": source.pk}, follow=True)
    wait_until_finished(later)

    assert "Choose the batch whose output each file starts from." in asked
    assert [str(m) for m in started.context["messages"]] == ["Later: Started 3 file(s)."]
    assert set(Run.objects.filter(batch=later).values_list("input_origin", flat=True)) == {
        "the output of batch 'Both apps'"
    }


def test_the_command_builds_a_batch_from_runs_or_from_latest_mmif_and_names_what_is_wrong(ran, apps, capsys):
    source, runs = ran
    second = pipeline_of(apps, "second", pipeline_name="Second")
    ids = ",".join(str(run.pk) for run in runs)

    call_command("reuse_mmif", "--name", "By runs", "--pipeline", "Second", "--runs", ids)
    call_command(
        "reuse_mmif",
        "--name",
        "By files",
        "--pipeline",
        str(second.pk),
        "--guids",
        "cpb-aacip-1,cpb-aacip-2",
        "--from-pipeline",
        source.pipeline.name,
    )
    with pytest.raises(CommandError, match="There is no media file cpb-aacip-404"):
        call_command("reuse_mmif", "--name", "Nope", "--pipeline", "Second", "--guids", "cpb-aacip-404")

    out = capsys.readouterr().out
    assert "Created batch 'By runs' of 3 file(s), each starting from the final MMIF of its selected run." in out
    assert "Created batch 'By files' of 2 file(s), each starting from its latest successful MMIF of pipeline" in out
    assert BatchInput.objects.filter(batch__name="By files").count() == 2
    assert not Batch.objects.filter(name="Nope").exists()
