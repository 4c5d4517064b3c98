"""The run's findings page: every view of a MMIF, a page of one view's annotations, a timeline, and a comparison."""

import pytest
from django.urls import reverse

from findings.models import MmifSummary
from runs.models import Status
from tests.factories import BatchFactory, MediaFileFactory, RunFactory, StepRunFactory, UserFactory
from tests.findings_helpers import ALIGNMENT, TEXT_DOCUMENT, TIME_FRAME, store_mmif, time_frames, view

pytestmark = pytest.mark.django_db
SEGMENTER = "http://apps.chowda.example/demo-segmenter/v1"
SUMMARIZER = "http://apps.chowda.example/demo-summarizer/v1"
SUMMARY_TEXT = "2 stretches of sound totalling 1.8 s in 3.0 s of audio."


@pytest.fixture(autouse=True)
def storage(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "mmif")
    settings.SERVED_MEDIA_ROOT = str(tmp_path / "media")


def demo_views(frames=4):
    text = {"@type": TEXT_DOCUMENT, "properties": {"id": "v_1:td_1", "text": {"@value": SUMMARY_TEXT}}}
    pair = {"@type": ALIGNMENT, "properties": {"id": "v_1:a_1", "source": "d1", "target": "v_1:td_1"}}
    return [
        view(
            "v_0",
            SEGMENTER,
            time_frames("v_0", frames),
            {TIME_FRAME: {"timeUnit": "milliseconds", "document": "d1"}},
            appConfiguration={"threshold": 0.02, "minDuration": 0.2},
        ),
        view("v_1", SUMMARIZER, [text, pair], appConfiguration={"unit": "seconds"}),
    ]


def succeeded_run(media_file=None, batch=None, frames=4, name="run"):
    run = RunFactory(
        status=Status.SUCCEEDED, media_file=media_file or MediaFileFactory(), batch=batch or BatchFactory()
    )
    first = store_mmif(f"{name}/step-1.mmif", demo_views(frames)[:1])
    final = store_mmif(f"{name}/step-2.mmif", demo_views(frames))
    StepRunFactory(run=run, position=1, status=Status.SUCCEEDED, output_mmif=first, summary={"views": [{"id": "v_0"}]})
    StepRunFactory(run=run, position=2, status=Status.SUCCEEDED, output_mmif=final, summary={"views": [{"id": "v_1"}]})
    run.final_mmif = final
    run.save()
    return run


def findings(client, run, **query):
    return client.get(reverse("findings:run_findings", args=[run.pk]), query)


def test_a_viewer_sees_every_view_with_its_app_version_parameters_and_counts(viewer_client):
    run = succeeded_run()

    page = findings(viewer_client, run).content.decode()

    assert "demo-segmenter" in page and "demo-summarizer" in page
    assert "threshold=0.02" in page and "unit=&quot;seconds&quot;" in page
    assert "4 TimeFrame" in page and "1 TextDocument" in page and "1 Alignment" in page
    assert "sound 2, silence 2" in page
    assert "Times are counted in milliseconds in this view and shown here in seconds." in page
    assert "1.000 s \u2013 2.000 s" in page


def test_the_summarizers_text_and_its_alignment_read_as_text_and_a_pair(viewer_client):
    run = succeeded_run()

    page = findings(viewer_client, run, view="v_1").content.decode()

    assert SUMMARY_TEXT in page
    assert "AudioDocument d1 ⟷ “2 stretches of sound" in page


def test_a_steps_output_shows_its_own_views_and_marks_those_it_added(viewer_client):
    run = succeeded_run()

    response = findings(viewer_client, run, source="step-1")

    assert [v["id"] for v in response.context["views"]] == ["v_0"]
    assert response.context["views"][0]["new"] is True
    assert "new in this step" in response.content.decode()


def test_the_timeline_has_one_lane_per_view_and_the_media_length(viewer_client):
    run = succeeded_run()

    timeline = findings(viewer_client, run).context["timeline"]

    assert timeline["duration"] == 4.0
    assert [lane["view"] for lane in timeline["lanes"]] == ["v_0", "v_1"]
    assert timeline["lanes"][0]["bars"][0] == [0.0, 1.0, 0]
    assert timeline["lanes"][1]["bars"] == []


def test_a_run_that_no_step_answered_says_there_is_nothing_to_show_yet(viewer_client):
    run = RunFactory(status=Status.RUNNING)

    page = findings(viewer_client, run).content.decode()

    assert "no step has answered" in page


def test_a_missing_stored_mmif_is_a_sentence_not_a_crash(viewer_client):
    run = RunFactory(status=Status.SUCCEEDED, final_mmif="gone/final.mmif")

    page = findings(viewer_client, run).content.decode()

    assert "missing from Chowda&#x27;s storage" in page


def test_people_without_the_permission_to_view_runs_are_refused(client):
    run = succeeded_run()
    client.force_login(UserFactory(username="stranger"))

    assert findings(client, run).status_code == 403
    client.logout()
    assert findings(client, run).status_code == 302


def test_a_view_of_200000_time_frames_is_paged_on_the_server_in_a_fixed_number_of_queries(
    viewer_client, django_assert_num_queries
):
    run = succeeded_run(frames=200_000, name="big")
    findings(viewer_client, run, view="v_0")  # the first visit summarises each MMIF once, streaming

    # session, user, the user's and the groups' permissions, run, steps, summary, other runs of the file
    with django_assert_num_queries(8):
        response = findings(viewer_client, run, view="v_0", page=1500)

    assert response.status_code == 200
    assert response.context["pages"] == 2000
    assert response.context["total_rows"] == 200_000
    rows = response.context["rows"]
    assert [row["id"] for row in (rows[0], rows[-1])] == ["v_0:tf_149901", "v_0:tf_150000"]
    assert rows[0]["start"] == 149_900.0
    assert "149901\u2013150000 of 200000" in response.content.decode()
    assert len(response.context["timeline"]["lanes"][0]["bars"]) <= 1500
    assert MmifSummary.objects.count() == 1


def test_two_runs_of_the_same_file_compare_counts_per_app_and_label(viewer_client):
    media_file = MediaFileFactory()
    first = succeeded_run(media_file, frames=4, name="first")
    second = succeeded_run(media_file, frames=7, name="second")

    response = viewer_client.get(reverse("findings:compare_runs", args=[first.pk]), {"with": second.pk})

    rows = {
        (r["app"].rsplit("/", 1)[-1], r["type"], r["label"]): (r["left"], r["right"]) for r in response.context["rows"]
    }
    assert rows[("demo-segmenter", "TimeFrame", "")] == (4, 7)
    assert rows[("demo-segmenter", "TimeFrame", "sound")] == (2, 4)
    assert rows[("demo-segmenter", "TimeFrame", "silence")] == (2, 3)
    assert rows[("demo-summarizer", "TextDocument", "")] == (1, 1)


def test_comparing_with_a_run_of_another_file_says_to_pick_one_from_the_list(viewer_client):
    run, stranger = succeeded_run(name="a"), succeeded_run(name="b")

    response = viewer_client.get(reverse("findings:compare_runs", args=[run.pk]), {"with": stranger.pk})

    assert response.status_code == 404
    assert "is not another run of" in response.content.decode()


def test_the_live_run_page_links_to_what_the_apps_found(viewer_client):
    run = succeeded_run()

    page = viewer_client.get(reverse("runs:run_live", args=[run.pk])).content.decode()

    assert reverse("findings:run_findings", args=[run.pk]) in page


def test_the_comparison_page_first_lists_the_other_runs_to_choose_from(viewer_client):
    media_file = MediaFileFactory()
    first = succeeded_run(media_file, name="first")
    second = succeeded_run(media_file, name="second")

    response = viewer_client.get(reverse("findings:compare_runs", args=[first.pk]))

    page = response.content.decode()
    assert f'<option value="{second.pk}"' in page
    assert 'id="comparison"' not in page


def test_a_failed_step_shows_its_error_mmif_with_the_apps_message_and_stack_trace(viewer_client):
    run = RunFactory(status=Status.FAILED)
    error_view = view(
        "v_0",
        SEGMENTER,
        [],
        error={"message": "Cannot read broken.wav as WAV audio.", "stackTrace": "Traceback (most recent call last)"},
    )
    stored = store_mmif("failed/step-1-error.mmif", [error_view])
    StepRunFactory(run=run, position=1, status=Status.FAILED, error_mmif=stored)

    page = findings(viewer_client, run).content.decode()

    assert "Step 1 (" in page and "error MMIF" in page
    assert "Cannot read broken.wav as WAV audio." in page
    assert "Traceback (most recent call last)" in page


def test_a_long_text_shows_its_start_and_all_of_it_on_demand(viewer_client):
    run = RunFactory(status=Status.SUCCEEDED)
    text = "A long summary. " * 40
    annotation = {"@type": TEXT_DOCUMENT, "properties": {"id": "v_0:td_1", "text": {"@value": text}}}
    run.final_mmif = store_mmif("long/final.mmif", [view("v_0", SUMMARIZER, [annotation])])
    run.save()

    page = findings(viewer_client, run).content.decode()

    assert "show all" in page
    assert text.strip() in page
