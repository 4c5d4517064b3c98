"""A curator tries a pilot before the whole collection: some files first, some parameters changed for that start."""

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.test import APIClient

from runs.models import Run, Status, StepRun
from runs.services import Pilot, RunnerError, batch_start
from tests.factories import BatchFactory, MediaFileFactory, PipelineFactory, PipelineStepFactory
from tests.runner_helpers import register, wait_until_finished

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("celery_worker")]

CHANGELIST = reverse("admin:batches_batch_changelist")


@pytest.fixture
def batch(idle_runner_apps):
    pipeline = PipelineFactory(name="Tag")
    PipelineStepFactory(
        pipeline=pipeline, position=1, app=register(idle_runner_apps, "first"), parameters={"label": "one"}
    )
    files = [MediaFileFactory(guid=f"cpb-aacip-{n}") for n in range(1, 7)]
    return BatchFactory(name="Collection", pipeline=pipeline, media_files=files)


def step_parameters(batch) -> list[dict]:
    return [step.parameters for step in StepRun.objects.filter(run__batch=batch).order_by("pk")]


def started_guids(batch) -> list[str]:
    return sorted(Run.objects.filter(batch=batch).values_list("media_file__guid", flat=True))


def test_a_pilot_of_two_files_with_an_override_runs_only_those_and_a_later_start_runs_the_rest(batch, idle_runner_apps):
    result = batch_start(batch, pilot=Pilot(first=2), overrides={1: {"label": "pilot"}})
    pilot_runs = wait_until_finished(batch)

    assert result.sentence == (
        "Started 2 file(s) as a pilot (the first 2 by GUID); 4 more wait for the next Start, "
        "with parameters of step 1 overridden for this start."
    )
    assert [run.media_file.guid for run in pilot_runs] == ["cpb-aacip-1", "cpb-aacip-2"]
    assert {run.status for run in pilot_runs} == {Status.SUCCEEDED}
    assert all("label=pilot" in query for query in idle_runner_apps["first"][1].queries)
    assert pilot_runs[0].pipeline_snapshot[0]["parameters"] == {"label": "pilot"}
    assert pilot_runs[0].pipeline_snapshot[0]["overrides"] == {"label": "pilot"}
    assert step_parameters(batch) == [{"label": "pilot"}] * 2

    rest = batch_start(batch)
    wait_until_finished(batch)

    assert rest.sentence == "Started 4 file(s); 2 already queued, running or done."
    assert Run.objects.filter(batch=batch, status=Status.SUCCEEDED).count() == 6
    assert sum("label=one" in query for query in idle_runner_apps["first"][1].queries) == 4


def test_the_run_page_shows_an_override_apart_from_the_pipelines_own_value(batch, curator_client):
    batch_start(batch, pilot=Pilot(guids=("cpb-aacip-3",)), overrides={1: {"label": "pilot"}})
    [run] = wait_until_finished(batch)

    page = curator_client.get(reverse("runs:run_live", args=[run.pk])).content.decode()

    assert "<strong>label=pilot</strong> (the pipeline's: one)" in page


def test_the_same_seed_draws_the_same_sample_and_another_seed_another(batch):
    twin = BatchFactory(name="Twin", pipeline=batch.pipeline, media_files=list(batch.media_files.all()))
    other = BatchFactory(name="Other", pipeline=batch.pipeline, media_files=list(batch.media_files.all()))

    batch_start(batch, pilot=Pilot(sample=3, seed=7))
    batch_start(twin, pilot=Pilot(sample=3, seed=7))
    result = batch_start(other, pilot=Pilot(sample=3, seed=9))

    assert len(started_guids(batch)) == 3
    assert started_guids(batch) == started_guids(twin)
    assert started_guids(other) != started_guids(batch)
    assert result.pilot == "a random sample of 3, seed 9"
    for each in (batch, twin, other):
        wait_until_finished(each)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({1: {"label": 5}}, "Step 1 (first): "),
        ({1: {"volume": 11}}, "Step 1 (first): "),
        (
            {3: {"label": "x"}},
            "Pipeline 'Tag' has no step 3; its steps are 1. Override the parameters of one of those.",
        ),
    ],
)
def test_an_override_the_pipeline_or_app_does_not_accept_starts_nothing_and_says_why(batch, overrides, message):
    with pytest.raises(RunnerError) as refused:
        batch_start(batch, overrides=overrides)

    assert str(refused.value).startswith(message)
    assert not Run.objects.exists()


def test_an_override_is_checked_with_the_same_sentence_as_a_pipeline_step(batch):
    step = batch.pipeline.steps.get()
    step.parameters = {"label": 5}
    step.save()
    with pytest.raises(RunnerError) as from_pipeline:
        batch_start(batch)
    step.parameters = {"label": "one"}
    step.save()

    with pytest.raises(RunnerError) as from_override:
        batch_start(batch, overrides={1: {"label": 5}})

    assert str(from_override.value) == str(from_pipeline.value)


@pytest.mark.parametrize(
    ("pilot", "message"),
    [
        (
            Pilot(guids=("cpb-aacip-1", "cpb-aacip-99")),
            "Nothing was started: batch 'Collection' has no file cpb-aacip-99.",
        ),
        (Pilot(guids=("cpb aacip/1",)), "Nothing was started: cpb aacip/1 is not a GUID"),
        (Pilot(first=0), "A pilot takes between 1 and 10,000 files, not 0"),
        (Pilot(first=2, sample=2), "Choose the pilot's files one way"),
    ],
)
def test_a_pilot_that_names_no_real_files_starts_nothing_and_says_why(batch, pilot, message):
    with pytest.raises(RunnerError) as refused:
        batch_start(batch, pilot=pilot)

    assert str(refused.value).startswith(message)
    assert not Run.objects.exists()


def test_the_admin_starts_a_pilot_with_an_override_from_the_confirmation_page(batch, curator_client):
    form = {"action": "start", "_selected_action": [batch.pk]}
    asked = curator_client.post(CHANGELIST, form).content.decode()
    assert "6 file(s) will start, or the pilot you choose below" in asked
    assert "Step 1 (first): override parameters" in asked

    bad = curator_client.post(CHANGELIST, {**form, "confirm": "Start", "files": "first", "size": 2, "step_1": "label"})
    assert "Write the overrides as a JSON object" in bad.content.decode()
    assert not Run.objects.exists()

    response = curator_client.post(
        CHANGELIST,
        {**form, "confirm": "Start", "files": "first", "size": 2, "step_1": '{"label": "pilot"}'},
        follow=True,
    )
    wait_until_finished(batch)

    assert [str(m) for m in response.context["messages"]] == [
        "Collection: Started 2 file(s) as a pilot (the first 2 by GUID); 4 more wait for the next Start, "
        "with parameters of step 1 overridden for this start."
    ]
    assert started_guids(batch) == ["cpb-aacip-1", "cpb-aacip-2"]


def test_a_refused_override_in_the_admin_keeps_what_the_curator_typed_and_says_why(batch, curator_client):
    page = curator_client.post(
        CHANGELIST,
        {"action": "start", "_selected_action": [batch.pk], "confirm": "Start", "step_1": '{"label": 5}'},
    ).content.decode()

    assert "Step 1 (first): " in page
    assert "{&quot;label&quot;: 5}" in page
    assert not Run.objects.exists()


def test_the_api_starts_a_pilot_with_overrides_and_says_so(batch, api):
    response = api.post(
        f"/api/batches/{batch.pk}/start/",
        {"pilot": {"guids": ["cpb-aacip-5", "cpb-aacip-6"]}, "overrides": {"1": {"label": "api"}}},
        format="json",
    )
    wait_until_finished(batch)

    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["started"], body["unstarted"], body["pilot"], body["overridden"]) == (2, 4, "2 listed GUID(s)", [1])
    assert started_guids(batch) == ["cpb-aacip-5", "cpb-aacip-6"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"overrides": {"first": {"label": "x"}}}, "overrides"),
        ({"overrides": {"1": "label=x"}}, "overrides"),
        ({"pilot": {"first": 0}}, "pilot"),
    ],
)
def test_a_malformed_start_body_is_a_400_naming_the_field(batch, api, body, field):
    response = api.post(f"/api/batches/{batch.pk}/start/", body, format="json")

    assert response.status_code == 400
    assert field in response.json()
    assert not Run.objects.exists()


def test_viewers_cannot_start_a_pilot_through_the_api(batch, viewer):
    viewer_api = APIClient()
    viewer_api.force_authenticate(viewer)
    response = viewer_api.post(f"/api/batches/{batch.pk}/start/", {"pilot": {"first": 1}}, format="json")

    assert response.status_code == 403
    assert not Run.objects.exists()


def test_the_command_starts_a_pilot_with_an_override(batch, capsys):
    call_command("start_batch", str(batch.pk), "--sample", "2", "--seed", "3", "--override", "1:label=cli")
    wait_until_finished(batch)

    assert "Started 2 file(s) as a pilot (a random sample of 2, seed 3); 4 more wait" in capsys.readouterr().out
    assert step_parameters(batch) == [{"label": "cli"}] * 2


def test_a_pilot_compares_with_the_same_files_run_with_the_pipelines_own_parameters(batch, viewer_client):
    default = BatchFactory(name="Default", pipeline=batch.pipeline, media_files=list(batch.media_files.all()))
    batch_start(batch, pilot=Pilot(first=2), overrides={1: {"label": "pilot"}})
    batch_start(default, pilot=Pilot(guids=("cpb-aacip-1", "cpb-aacip-2", "cpb-aacip-3")))
    wait_until_finished(batch)
    wait_until_finished(default)

    page = viewer_client.get(reverse("findings:compare_batches", args=[batch.pk]), {"with": default.pk})

    assert page.status_code == 200
    comparison = page.context["comparison"]
    assert [file.guid for file in comparison.files] == ["cpb-aacip-1", "cpb-aacip-2"]
    assert (comparison.left_only, comparison.right_only) == (0, 1)
    labels = {(row["label"], row["left"], row["right"]) for row in comparison.rows if row["label"]}
    assert labels == {("pilot", 2, 0), ("one", 0, 2)}
    assert comparison.left_parameters[0][0]["overrides"] == {"label": "pilot"}
    assert comparison.right_parameters[0][0]["overrides"] is None
    assert comparison.left_seconds > 0 and comparison.right_seconds > 0
    html = page.content.decode()
    assert "compare the two runs" in html


def test_comparing_batches_makes_as_many_queries_for_6_files_as_for_2(
    batch, viewer_client, django_assert_max_num_queries
):
    default = BatchFactory(name="Default", pipeline=batch.pipeline, media_files=list(batch.media_files.all()))
    batch_start(batch, pilot=Pilot(first=2))
    batch_start(default, pilot=Pilot(first=2))
    wait_until_finished(batch)
    wait_until_finished(default)
    url = reverse("findings:compare_batches", args=[batch.pk])
    viewer_client.get(url, {"with": default.pk})  # reads and keeps the summaries of the MMIF
    with CaptureQueriesContext(connection) as two:
        assert len(viewer_client.get(url, {"with": default.pk}).context["comparison"].files) == 2
    queries_for_two = len(two)  # counted now: the next request clears the connection's query log
    batch_start(batch)
    batch_start(default)
    wait_until_finished(batch)
    wait_until_finished(default)
    viewer_client.get(url, {"with": default.pk})

    with django_assert_max_num_queries(queries_for_two):
        assert len(viewer_client.get(url, {"with": default.pk}).context["comparison"].files) == 6


def test_comparing_batches_without_a_file_in_common_says_what_to_do(batch, viewer_client):
    other = BatchFactory(name="Elsewhere", pipeline=batch.pipeline, media_files=[MediaFileFactory()])

    page = viewer_client.get(reverse("findings:compare_batches", args=[batch.pk]), {"with": other.pk})

    assert "have no file that succeeded in both: run the same files in both" in page.content.decode()
