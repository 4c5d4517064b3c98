"""Reads for the evaluation pages and the API: files worst first, the gold as a timeline lane, and A/B on gold."""

from dataclasses import dataclass

from django.db.models import QuerySet
from django.urls import reverse

from evaluations import metrics
from evaluations.gold import GoldError, parse_gold
from evaluations.models import Evaluation, EvaluationFile, FileOutcome, GoldFile, GoldKind

# Outcomes without a score, listed after the scored files in this order.
UNSCORED_ORDER = [
    FileOutcome.INVALID_PREDICTION,
    FileOutcome.INVALID_GOLD,
    FileOutcome.RUN_FAILED,
    FileOutcome.NOT_RUN,
    FileOutcome.NO_GOLD,
]
# A gold time point is drawn as a bar this long (seconds), so that it can be seen and pointed at.
POINT_WIDTH = 0.25


def files_worst_first(evaluation: Evaluation) -> list[EvaluationFile]:
    """The evaluation's files: scored ones worst first (highest error rate, or lowest F1), then the others by
    why they have no score; in one query."""
    files = list(evaluation.files.select_related("media_file", "run").order_by("media_file__guid"))
    scored = [f for f in files if f.outcome == FileOutcome.SCORED]
    worst = -1 if evaluation.lower_is_better else 1
    scored.sort(key=lambda f: (f.score is None, worst * (f.score or 0.0), f.media_file.guid))
    others = sorted(
        (f for f in files if f.outcome != FileOutcome.SCORED), key=lambda f: UNSCORED_ORDER.index(f.outcome)
    )
    return scored + others


def evaluations_listed() -> QuerySet[Evaluation]:
    return Evaluation.objects.select_related("batch", "gold_set", "started_by")


def gold_lane(evaluation: Evaluation, media_file_id: int) -> dict | None:
    """The file's gold as a lane of the findings viewer's timeline (findings/views.py ``timeline``), or None
    when the gold has no times (transcripts, entities) or the file has none."""
    gold_file = GoldFile.objects.filter(gold_set=evaluation.gold_set, media_file_id=media_file_id).first()
    kind = evaluation.gold_set.kind
    if gold_file is None or kind in (GoldKind.TRANSCRIPT, GoldKind.NER):
        return None
    try:
        gold = parse_gold(kind, gold_file.filename, gold_file.content)
    except GoldError:
        return None
    if kind == GoldKind.TIMEFRAMES:
        items = [(f.start, f.end, f.label) for f in gold]
    elif kind == GoldKind.TIMEPOINTS:
        items = [(p.at, p.at + POINT_WIDTH, p.label) for p in gold]
    else:
        items = [(f.start, max(f.end, f.start + POINT_WIDTH), text[:40]) for f, text in gold]
    labels = list(dict.fromkeys(label for _, _, label in items))
    return {
        "view": "gold",
        "app": f"gold: {evaluation.gold_set.name}",
        "bars": [[start, end, labels.index(label)] for start, end, label in items],
        "labels": labels,
        "merged": False,
    }


@dataclass
class GoldComparison:
    """Two evaluations of the same gold set and metric on the files both scored."""

    a_score: float | None
    b_score: float | None
    difference: float | None
    low: float | None
    high: float | None
    files: list[tuple[EvaluationFile, EvaluationFile]]
    a_only: int
    b_only: int


def compare_on_gold(a: Evaluation, b: Evaluation) -> GoldComparison:
    """Each side's score over the files both scored, B's minus A's, and its seeded 95 % bootstrap interval."""
    a_files = {f.media_file_id: f for f in a.files.filter(outcome=FileOutcome.SCORED).select_related("media_file")}
    b_files = {f.media_file_id: f for f in b.files.filter(outcome=FileOutcome.SCORED)}
    common = sorted(set(a_files) & set(b_files), key=lambda pk: a_files[pk].media_file.guid)
    pairs = [(a_files[pk], b_files[pk]) for pk in common]
    a_score = metrics.headline(a.metric, metrics.add_up(x.counts for x, _ in pairs)) if pairs else None
    b_score = metrics.headline(b.metric, metrics.add_up(y.counts for _, y in pairs)) if pairs else None
    low, high = metrics.bootstrap_difference(a.metric, [(x.counts, y.counts) for x, y in pairs])
    return GoldComparison(
        a_score=a_score,
        b_score=b_score,
        difference=b_score - a_score if a_score is not None and b_score is not None else None,
        low=low,
        high=high,
        files=pairs,
        a_only=len(set(a_files) - set(b_files)),
        b_only=len(set(b_files) - set(a_files)),
    )


def comparable(evaluation: Evaluation) -> QuerySet[Evaluation]:
    """The other finished evaluations an evaluation can be compared with: same gold set and metric."""
    return (
        evaluations_listed()
        .filter(gold_set=evaluation.gold_set, metric=evaluation.metric, status="done")
        .exclude(pk=evaluation.pk)
    )


def compare_links(batch, other) -> list[tuple[str, str]]:
    """For the page comparing two batches (findings): "compare on gold" when both have an evaluation on the
    same gold set and metric (the newest such pair)."""
    mine = Evaluation.objects.filter(batch=batch, status="done").order_by("-pk")
    theirs = {
        (e.gold_set_id, e.metric): e for e in Evaluation.objects.filter(batch=other, status="done").order_by("pk")
    }
    for evaluation in mine:
        match = theirs.get((evaluation.gold_set_id, evaluation.metric))
        if match is not None:
            url = reverse("evaluations:compare", args=[evaluation.pk]) + f"?with={match.pk}"
            return [(f"Compare on gold: {evaluation.gold_set.name} ({evaluation.get_metric_display()})", url)]
    return []
