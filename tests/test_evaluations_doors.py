"""Gold sets and evaluations through the API and the admin: the same permissions (curators change, viewers read),
refusals as sentences that change nothing, and lists whose cost does not grow with their rows."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from clams_apps.models import ClamsApp
from evaluations.models import Evaluation, EvaluationFile, FileOutcome, GoldSet
from tests.evaluation_helpers import gold_zip
from tests.factories import BatchFactory, ClamsAppFactory, MediaFileFactory, PipelineFactory, PipelineStepFactory

pytestmark = pytest.mark.django_db


def batch_with_a_step():
    pipeline = PipelineFactory()
    app = ClamsApp.objects.filter(name="tagger").first() or ClamsAppFactory(name="tagger")
    PipelineStepFactory(pipeline=pipeline, position=1, app=app)
    return BatchFactory(name="Pilot", pipeline=pipeline, media_files=MediaFileFactory.create_batch(2))


def upload(files):
    return gold_zip(
        {"a": files[0], "b": files[1]}, {"a": "start,end,scene-label\n0,1,S\n", "b": "start,end,label\n2,3,M\n"}
    )


def test_a_curator_makes_a_gold_set_and_starts_an_evaluation_through_the_api(api):
    batch = batch_with_a_step()
    files = list(batch.media_files.order_by("guid"))
    made = api.post(
        "/api/gold-sets/", {"name": "Slates", "kind": "timeframes", "file": upload(files)}, format="multipart"
    )
    assert made.status_code == 201, made.json()
    assert made.json()["detail"] == "Gold set 'Slates' created with 2 file(s)."
    gold_set = made.json()["gold_set"]["id"]

    started = api.post(
        "/api/evaluations/",
        {"batch": batch.pk, "gold_set": gold_set, "step": "tagger", "metric": "timeframe_f1", "label_map": {"x": "S"}},
        format="json",
    )
    assert started.status_code == 201, started.json()
    body = api.get(f"/api/evaluations/{started.json()['id']}/").json()
    assert {k: body[k] for k in ("status", "step", "metric", "parameters", "label_map")} == {
        "status": "pending",
        "step": 1,
        "metric": "timeframe_f1",
        "parameters": {"min_overlap": 0.5},
        "label_map": {"x": "S"},
    }
    assert {"aggregate", "per_label", "per_file"} <= set(body)


def test_a_wrong_request_is_a_sentence_and_creates_nothing(api):
    batch = batch_with_a_step()
    bad = gold_zip({"a": batch.media_files.first()}, {"a": "start,end,scene-label\n0,1:xx,S\n"})
    refused = api.post("/api/gold-sets/", {"name": "Slates", "kind": "timeframes", "file": bad}, format="multipart")
    assert refused.status_code == 409
    assert "line 2: '1:xx' is not a time" in refused.json()["detail"]
    assert not GoldSet.objects.exists()

    gold_set = GoldSet.objects.create(name="Slates", kind="timeframes")
    asked = {"batch": batch.pk, "gold_set": gold_set.pk, "metric": "timeframe_f1", "parameters": {"min_overlap": 2}}
    refused = api.post("/api/evaluations/", asked, format="json")
    assert refused.status_code == 409
    assert (
        refused.json()["detail"]
        == "The parameter min_overlap of timeframe_f1 must be a number above 0 and at most 1, not 2."
    )
    assert not Evaluation.objects.exists()


def test_a_viewer_reads_but_cannot_make_gold_or_start_an_evaluation(api, viewer, viewer_client):
    batch = batch_with_a_step()
    gold_set = GoldSet.objects.create(name="Slates", kind="timeframes")
    api.force_authenticate(viewer)
    file = SimpleUploadedFile("x.csv", b"start,end,label\n")
    assert (
        api.post("/api/gold-sets/", {"name": "S", "kind": "timeframes", "file": file}, format="multipart").status_code
        == 403
    )
    asked = {"batch": batch.pk, "gold_set": gold_set.pk, "metric": "timeframe_f1"}
    assert api.post("/api/evaluations/", asked, format="json").status_code == 403
    assert api.get("/api/evaluations/").status_code == 200
    assert api.get("/api/gold-sets/").status_code == 200
    assert viewer_client.get(reverse("admin:evaluations_evaluation_add")).status_code == 403
    assert viewer_client.get(reverse("admin:evaluations_evaluation_changelist")).status_code == 200
    api.logout()
    assert api.get("/api/evaluations/").status_code == 401


def test_the_admin_starts_an_evaluation_from_the_batch_and_shows_a_refusal_on_the_form(curator_client):
    batch = batch_with_a_step()
    gold_set = GoldSet.objects.create(name="Transcripts", kind="transcript")
    page = curator_client.get(reverse("admin:batches_batch_change", args=[batch.pk])).content.decode()
    assert f"/admin/evaluations/evaluation/add/?batch={batch.pk}" in page
    form = {"batch": batch.pk, "gold_set": gold_set.pk, "metric": "timeframe_f1", "step": "", "parameters": "{}"}
    form["label_map"] = "{}"
    answer = curator_client.post(reverse("admin:evaluations_evaluation_add"), form)
    assert "which timeframe_f1 cannot score: use wer or cer" in answer.content.decode()
    assert not Evaluation.objects.exists()
    answer = curator_client.post(reverse("admin:evaluations_evaluation_add"), {**form, "metric": "wer"})
    evaluation = Evaluation.objects.get()
    assert answer["Location"] == reverse("evaluations:evaluation", args=[evaluation.pk])
    assert (evaluation.step, evaluation.app_name, evaluation.parameters) == (1, "tagger", {"normalise": False})


def scored_evaluations(count: int, files: int = 3) -> None:
    gold_set = GoldSet.objects.get_or_create(name="Slates", kind="timeframes")[0]
    for _ in range(count):
        batch = batch_with_a_step()
        evaluation = Evaluation.objects.create(
            batch=batch, gold_set=gold_set, step=1, metric="timeframe_f1", status="done", aggregate={"score": 0.5}
        )
        for media_file in MediaFileFactory.create_batch(files):
            EvaluationFile.objects.create(
                evaluation=evaluation, media_file=media_file, outcome=FileOutcome.SCORED, score=0.5, counts={"tp": 1}
            )


def queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        answer = client.get(url)
    assert answer.status_code == 200
    return len(captured)


@pytest.mark.parametrize(
    "url",
    [
        "/api/evaluations/",
        "/api/gold-sets/",
        reverse("admin:evaluations_evaluation_changelist"),
        reverse("admin:evaluations_goldset_changelist"),
    ],
)
def test_a_list_costs_the_same_queries_for_3_and_9_rows(url, superuser, client):
    client.force_login(superuser)
    scored_evaluations(3)
    few = queries(client, url)
    scored_evaluations(6)
    assert queries(client, url) == few


def test_the_results_page_and_the_api_detail_cost_the_same_for_3_and_30_files(superuser, client):
    client.force_login(superuser)
    scored_evaluations(1, files=3)
    scored_evaluations(1, files=30)
    small, large = Evaluation.objects.order_by("pk")
    for name in ("evaluations:evaluation", "evaluations:csv"):
        assert queries(client, reverse(name, args=[small.pk])) == queries(client, reverse(name, args=[large.pk]))
    assert queries(client, f"/api/evaluations/{small.pk}/") == queries(client, f"/api/evaluations/{large.pk}/")
