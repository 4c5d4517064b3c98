"""A curator marks a media file's accepted MMIF as final, one per pipeline; marking again replaces it, and the
media list filters files by whether they have one. Viewers can do none of it."""

import pytest

from deliverables.models import FinalMmif
from runs.models import Status
from tests.factories import BatchFactory, MediaFileFactory, RunFactory

RUNS = "/admin/runs/run/"
BATCHES = "/admin/batches/batch/"
MEDIA = "/admin/batches/mediafile/"


def succeeded(batch, media_file, **fields):
    batch.media_files.add(media_file)
    return RunFactory(batch=batch, media_file=media_file, status=Status.SUCCEEDED, final_mmif="mmif/x.mmif", **fields)


@pytest.fixture
def batch(db):
    return BatchFactory(name="News")


def act(client, changelist, action, *objects):
    return client.post(changelist, {"action": action, "_selected_action": [o.pk for o in objects]}, follow=True)


def test_a_curator_marks_the_selected_runs_final_and_the_media_list_filters_by_it(curator_client, curator, batch):
    marked, other = MediaFileFactory(guid="cpb-marked"), MediaFileFactory(guid="cpb-other")
    run = succeeded(batch, marked)
    succeeded(batch, other)

    page = act(curator_client, RUNS, "mark_runs_final", run)

    assert "Marked the MMIF of 1 file(s) as final." in page.content.decode()
    final = FinalMmif.objects.get()
    assert (final.media_file, final.pipeline, final.run, final.marked_by) == (marked, batch.pipeline, run, curator)
    has_one = curator_client.get(MEDIA, {"final_mmif": "yes"}).content.decode()
    has_none = curator_client.get(MEDIA, {"final_mmif": "no"}).content.decode()
    assert "cpb-marked" in has_one and "cpb-other" not in has_one
    assert "cpb-other" in has_none and "cpb-marked" not in has_none


def test_the_api_lists_media_files_with_and_without_a_final_mmif(api, batch):
    marked, other = MediaFileFactory(guid="cpb-marked"), MediaFileFactory(guid="cpb-other")
    api.post(f"/api/runs/{succeeded(batch, marked).pk}/mark-final/")
    succeeded(batch, other)

    with_final = api.get("/api/media-files/", {"final_mmif": "true"}).json()["results"]
    without = api.get("/api/media-files/", {"final_mmif": "false"}).json()["results"]

    assert [m["guid"] for m in with_final] == ["cpb-marked"]
    assert [m["guid"] for m in without] == ["cpb-other"]


def test_marking_a_later_run_of_the_same_file_and_pipeline_replaces_the_final(api, batch):
    media_file = MediaFileFactory()
    first = succeeded(batch, media_file)
    later = succeeded(BatchFactory(pipeline=batch.pipeline), media_file)
    api.post(f"/api/runs/{first.pk}/mark-final/")

    answer = api.post(f"/api/runs/{later.pk}/mark-final/")

    assert answer.status_code == 200, answer.json()
    assert answer.json() == {
        "detail": "Marked the MMIF of 1 file(s) as final, replacing 1 earlier one(s).",
        "count": 1,
        "replaced": 1,
    }
    assert FinalMmif.objects.get().run == later


def test_a_run_that_did_not_succeed_is_refused_with_a_sentence_and_nothing_is_marked(curator_client, batch):
    good = succeeded(batch, MediaFileFactory())
    failed = RunFactory(batch=batch, media_file=MediaFileFactory(guid="cpb-failed"), status=Status.FAILED)

    page = act(curator_client, RUNS, "mark_runs_final", good, failed)

    assert "Nothing was marked: only a succeeded run has a final MMIF, and cpb-failed" in page.content.decode()
    assert not FinalMmif.objects.exists()


def test_the_batch_action_marks_each_files_latest_successful_run(curator_client, batch):
    media_file = MediaFileFactory()
    succeeded(batch, media_file, attempt=1, superseded=True)
    latest = succeeded(batch, media_file, attempt=2)
    RunFactory(batch=batch, media_file=MediaFileFactory(), status=Status.FAILED)

    page = act(curator_client, BATCHES, "mark_batches_final", batch)

    assert "News: Marked the MMIF of 1 file(s) as final." in page.content.decode()
    assert FinalMmif.objects.get().run == latest


def test_viewers_can_neither_mark_in_the_admin_nor_through_the_api(viewer_client, viewer, api, batch):
    run = succeeded(batch, MediaFileFactory())
    api.force_authenticate(viewer)

    assert "mark_runs_final" not in viewer_client.get(RUNS).content.decode()
    assert "mark_batches_final" not in viewer_client.get(BATCHES).content.decode()
    act(viewer_client, RUNS, "mark_runs_final", run)
    act(viewer_client, BATCHES, "mark_batches_final", batch)
    assert api.post(f"/api/runs/{run.pk}/mark-final/").status_code == 403
    assert api.post(f"/api/batches/{batch.pk}/mark-final/").status_code == 403
    assert not FinalMmif.objects.exists()
    assert "Has none" in viewer_client.get(MEDIA).content.decode()  # seeing the filter is viewing
