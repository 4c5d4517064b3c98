"""A real CLAMS app's output, run by the real worker, scored against a gold set by the real worker's background
queue: per file worst first, per label, files with no gold or a failed run listed apart, the CSV and the A/B."""

import csv
import io

import pytest
from django.urls import reverse

from evaluations.models import EvaluationStatus, FileOutcome, GoldSet
from evaluations.selectors import compare_on_gold, files_worst_first
from evaluations.services import evaluation_start, gold_set_create
from tests.evaluation_helpers import gold_zip, tagged_batch
from tests.runner_helpers import wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("celery_worker")]


def finished(evaluation):
    return wait_for(
        lambda: evaluation.__class__.objects.filter(pk=evaluation.pk, finished_at__isnull=False).first(),
        60,
        f"evaluation {evaluation.pk} to finish",
    )


def test_a_step_is_scored_per_file_and_per_label_through_the_worker(idle_runner_apps, tmp_path, curator_client):
    tuned = tagged_batch(idle_runner_apps, tmp_path)
    gold_set = gold_set_create(name="Slates", kind="timeframes", upload=gold_zip(tuned.files)).gold_set

    evaluation = finished(
        evaluation_start(
            batch=tuned.batch, gold_set=gold_set, metric="timeframe_f1", step="first", label_map={"speech": "S"}
        )
    )

    assert evaluation.status == EvaluationStatus.DONE, evaluation.sentence
    assert evaluation.sentence == "Scored 2 of 4 file(s) (2 scored, 1 no gold, 1 run failed)."
    # Over both scored files: tp 1, fp 1 (the bad file's frame), fn 2 (its S and M): P = 1/2, R = 1/3,
    # F1 = 2/(2 + 1 + 2) = 2/5.
    assert evaluation.aggregate["score"] == pytest.approx(2 / 5)
    assert (evaluation.aggregate["precision"], evaluation.aggregate["recall"]) == pytest.approx((1 / 2, 1 / 3))
    # S: gold 2, predicted 2, 1 matched: P = R = F1 = 1/2. M: gold 1, never predicted: R = F1 = 0, P undefined.
    assert [(r["label"], r["gold"], r["predicted"], r["tp"], r["f1"]) for r in evaluation.per_label] == [
        ("M", 1, 0, 0, 0.0),
        ("S", 2, 2, 1, 0.5),
    ]
    assert evaluation.per_label[0]["precision"] is None

    files = files_worst_first(evaluation)
    assert [(f.media_file.guid, f.outcome, f.score) for f in files] == [
        (tuned.files["bad"].guid, FileOutcome.SCORED, 0.0),
        (tuned.files["good"].guid, FileOutcome.SCORED, 1.0),
        (tuned.files["failing"].guid, FileOutcome.RUN_FAILED, None),
        (tuned.files["no_gold"].guid, FileOutcome.NO_GOLD, None),
    ]
    assert "No such file or directory" in files[2].sentence

    page = curator_client.get(reverse("evaluations:evaluation", args=[evaluation.pk])).content.decode()
    assert 'id="per-label"' in page and "view with gold" in page
    answer = curator_client.get(reverse("evaluations:csv", args=[evaluation.pk]))
    rows = list(csv.DictReader(io.StringIO(answer.content.decode())))
    assert [(r["guid"], r["outcome"], r["score"]) for r in rows] == [
        (tuned.files["bad"].guid, "scored", "0.0"),
        (tuned.files["good"].guid, "scored", "1.0"),
        (tuned.files["failing"].guid, "run_failed", ""),
        (tuned.files["no_gold"].guid, "no_gold", ""),
    ]

    viewer = curator_client.get(reverse("evaluations:gold_viewer", args=[evaluation.pk, tuned.files["bad"].pk]))
    assert viewer.status_code == 200
    lanes = viewer.context["timeline"]["lanes"]
    assert lanes[0] == {"view": "gold", "app": "gold: Slates", "bars": [[0.0, 100.0, 0], [200.0, 300.0, 1]]} | {
        "labels": ["S", "M"],
        "merged": False,
    }
    assert [lane["app"] for lane in lanes[1:]] == ["First"]


def test_without_the_label_map_nothing_matches_and_the_ab_says_by_how_much(idle_runner_apps, tmp_path):
    tuned = tagged_batch(idle_runner_apps, tmp_path)
    gold_set = gold_set_create(name="Slates", kind="timeframes", upload=gold_zip(tuned.files)).gold_set
    mapped = finished(
        evaluation_start(batch=tuned.batch, gold_set=gold_set, metric="timeframe_f1", label_map={"speech": "S"})
    )
    unmapped = finished(evaluation_start(batch=tuned.batch, gold_set=gold_set, metric="timeframe_f1"))

    # Unmapped, "speech" never equals "S": tp 0 on both files, F1 0.
    assert unmapped.aggregate["score"] == 0.0
    comparison = compare_on_gold(mapped, unmapped)
    assert (comparison.a_score, comparison.b_score) == pytest.approx((2 / 5, 0.0))
    assert comparison.difference == pytest.approx(-2 / 5)
    # Resampling the two files: both "good" twice gives A = 1 (B - A = -1), both "bad" gives A = 0 (0), one of
    # each gives 2/5; so the 95 % interval runs from -1 to 0, the same on every call (the seed is fixed).
    assert (comparison.low, comparison.high) == pytest.approx((-1.0, 0.0))


def test_a_gold_set_of_another_kind_or_an_unknown_step_is_refused_creating_nothing(idle_runner_apps, tmp_path):
    tuned = tagged_batch(idle_runner_apps, tmp_path)
    gold_set = GoldSet.objects.create(name="Transcripts", kind="transcript")
    with pytest.raises(Exception, match=r"Gold set 'Transcripts' holds transcript .*, which timeframe_f1 cannot score"):
        evaluation_start(batch=tuned.batch, gold_set=gold_set, metric="timeframe_f1")
    with pytest.raises(Exception, match="'7' is not a step of batch 'Pilot': name one by position or app, of 1 "):
        evaluation_start(batch=tuned.batch, gold_set=gold_set, metric="wer", step=7)
    assert not tuned.batch.evaluations.exists()


def test_the_compare_page_of_two_batches_links_to_their_comparison_on_gold(idle_runner_apps, tmp_path, curator_client):
    """#15's page comparing two batches of the same files offers "compare on gold" once both were evaluated on
    the same gold set and metric; the link opens the A/B with both scores."""
    from runs.services import batch_start
    from tests.factories import BatchFactory
    from tests.runner_helpers import wait_until_finished

    tuned = tagged_batch(idle_runner_apps, tmp_path)
    again = BatchFactory(name="Again", pipeline=tuned.batch.pipeline, media_files=list(tuned.files.values()))
    batch_start(again)
    wait_until_finished(again)
    gold_set = gold_set_create(name="Slates", kind="timeframes", upload=gold_zip(tuned.files)).gold_set
    compare_url = reverse("findings:compare_batches", args=[tuned.batch.pk]) + f"?with={again.pk}"
    assert "Compare on gold" not in curator_client.get(compare_url).content.decode()  # nothing evaluated yet

    mapped = finished(
        evaluation_start(batch=tuned.batch, gold_set=gold_set, metric="timeframe_f1", label_map={"speech": "S"})
    )
    unmapped = finished(evaluation_start(batch=again, gold_set=gold_set, metric="timeframe_f1"))
    page = curator_client.get(compare_url).content.decode()

    link = reverse("evaluations:compare", args=[mapped.pk]) + f"?with={unmapped.pk}"
    assert f'href="{link}"' in page and "Compare on gold: Slates" in page
    ab = curator_client.get(link).content.decode()
    assert 'id="score-a">0.400<' in ab and 'id="score-b">0.000<' in ab  # 2/5 with the map, nothing without
