"""Gold sets and evaluations: the one function behind each door (admin, API, command).

Each write is all or nothing and answers a sentence; a refusal (``EvaluationError``, ``GoldError``) changes
nothing and says what to do. An evaluation is scored as background work (background/), file by file.
"""

from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from background.dispatcher import jobs_add
from background.jobs import job_progress
from background.kinds import JobFailed
from batches.models import Batch, MediaFile
from chowda_site.refusals import Refused
from chowda_site.text import few
from evaluations import metrics
from evaluations.gold import GoldError, decoded, parse_gold, upload_entries
from evaluations.models import (
    METRIC_GOLD,
    Evaluation,
    EvaluationFile,
    EvaluationStatus,
    FileOutcome,
    GoldFile,
    GoldKind,
    GoldSet,
    Metric,
)
from evaluations.predictions import Prediction, PredictionError, read_prediction
from runs.models import Run, Status

JOB_KIND = "evaluation"


class EvaluationError(Refused):
    """The evaluation cannot be started as asked; nothing was created. The message says what to change."""


@dataclass(frozen=True)
class GoldAdded:
    gold_set: GoldSet
    files: int
    sentence: str


def gold_files_add(gold_set: GoldSet, upload) -> GoldAdded:
    """Store the gold files in ``upload`` (one ``<GUID>.<ext>`` file or a zip of them) in ``gold_set``, each
    replacing the file's earlier gold. Every file is checked first (its GUID, its encoding, every line of it):
    raises GoldError, storing nothing, naming the files and lines that are wrong."""
    return gold_files_store(gold_set, gold_files_checked(gold_set.kind, upload))


def gold_files_checked(kind: str, upload) -> list[tuple[int, str, str]]:
    """(media file id, file name, text) of each gold file of ``upload``, every one checked for ``kind``;
    raises GoldError naming the files and lines that are wrong (a form checks before it saves)."""
    entries = upload_entries(upload)
    known = dict(MediaFile.objects.filter(guid__in=[guid for guid, _, _ in entries]).values_list("guid", "pk"))
    problems, texts = [], []
    for guid, filename, content in entries:
        if guid not in known:
            problems.append(
                f"{filename}: Chowda has no media file {guid}; name each gold file after a GUID (import it first)."
            )
            continue
        try:
            text = decoded(filename, content)
            parse_gold(kind, filename, text)
        except GoldError as exc:
            problems.append(str(exc))
            continue
        texts.append((known[guid], filename, text))
    if problems:
        raise GoldError("Nothing was stored. " + " ".join(problems[:10]) + (" …" if len(problems) > 10 else ""))
    return texts


def gold_files_store(gold_set: GoldSet, texts: list[tuple[int, str, str]]) -> GoldAdded:
    """Store gold files that ``gold_files_checked`` read, each replacing its media file's earlier gold."""
    with transaction.atomic():
        for media_file_id, filename, text in texts:
            GoldFile.objects.update_or_create(
                gold_set=gold_set, media_file_id=media_file_id, defaults={"filename": filename, "content": text}
            )
    return GoldAdded(gold_set, len(texts), f"{len(texts)} gold file(s) stored in gold set '{gold_set.name}'.")


def gold_set_create(*, name: str, kind: str, upload, description: str = "", created_by=None) -> GoldAdded:
    """A new gold set with the files of ``upload``; all or nothing (raises GoldError, creating nothing)."""
    if kind not in GoldKind.values:
        raise GoldError(f"'{kind}' is not a kind of gold: use one of {', '.join(GoldKind.values)}.")
    if GoldSet.objects.filter(name=name).exists():
        raise GoldError(f"There is already a gold set named '{name}': pick another name, or add files to that one.")
    with transaction.atomic():
        gold_set = GoldSet.objects.create(name=name, kind=kind, description=description, created_by=created_by)
        added = gold_files_add(gold_set, upload)
    return GoldAdded(gold_set, added.files, f"Gold set '{name}' created with {added.files} file(s).")


# Each metric's parameters: name -> (default, check, what it must be).
PARAMETERS = {
    Metric.WER: {"normalise": (False, lambda v: isinstance(v, bool), "true or false")},
    Metric.CER: {"normalise": (False, lambda v: isinstance(v, bool), "true or false")},
    Metric.TIMEFRAME_F1: {
        "min_overlap": (0.5, lambda v: _number(v) and 0 < v <= 1, "a number above 0 and at most 1"),
    },
    Metric.TIMEPOINT_F1: {
        "tolerance_ms": (500, lambda v: _number(v) and v >= 0, "a number of milliseconds, 0 or more")
    },
    Metric.OCR_CER: {
        "tolerance_ms": (500, lambda v: _number(v) and v >= 0, "a number of milliseconds, 0 or more"),
        "normalise": (False, lambda v: isinstance(v, bool), "true or false"),
    },
    Metric.NER_F1: {},
}


def _number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def metric_parameters(metric: str, given: dict | None) -> dict:
    """The metric's parameters with their defaults; raises EvaluationError naming an unknown or bad one."""
    known = PARAMETERS[metric]
    given = given or {}
    if not isinstance(given, dict):
        raise EvaluationError('The parameters must be a JSON object, as {"normalise": true}.')
    unknown = sorted(set(given) - set(known))
    if unknown:
        raise EvaluationError(
            f"The metric {metric} has no parameter {few(unknown)}: it takes {', '.join(known) or 'none'}."
        )
    for name, value in given.items():
        _default, check, what = known[name]
        if not check(value):
            raise EvaluationError(f"The parameter {name} of {metric} must be {what}, not {value!r}.")
    return {name: given.get(name, default) for name, (default, _check, _what) in known.items()}


def _step(batch: Batch, step) -> tuple[int, str]:
    """(position, app name) of the batch pipeline's step named by position (a number) or by its app's name;
    the last step when ``step`` is None."""
    if batch.pipeline_id is None:
        raise EvaluationError(f"Batch '{batch.name}' has no pipeline, so it has no step to evaluate.")
    steps = list(batch.pipeline.steps.select_related("app").order_by("position"))
    if not steps:
        raise EvaluationError(f"The pipeline of batch '{batch.name}' has no step to evaluate.")
    if step in (None, ""):
        return steps[-1].position, steps[-1].app.name
    shown = ", ".join(f"{s.position} ({s.app.name})" for s in steps)
    if isinstance(step, int) or (isinstance(step, str) and step.isdigit()):
        found = [s for s in steps if s.position == int(step)]
    else:
        found = [s for s in steps if s.app.name == step]
    if len(found) != 1:
        more = "names more than one step" if found else "is not a step"
        raise EvaluationError(f"'{step}' {more} of batch '{batch.name}': name one by position or app, of {shown}.")
    return found[0].position, found[0].app.name


def evaluation_start(
    *, batch: Batch, gold_set: GoldSet, metric: str, step=None, parameters=None, label_map=None, started_by=None
) -> Evaluation:
    """Record an evaluation and queue it as background work; raises EvaluationError, creating nothing."""
    fields = evaluation_checked(
        batch=batch, gold_set=gold_set, metric=metric, step=step, parameters=parameters, label_map=label_map
    )
    with transaction.atomic():
        evaluation = Evaluation.objects.create(
            **fields, started_by=started_by, sentence="Waiting for a worker to score it."
        )
        jobs_add(JOB_KIND, Evaluation.objects.filter(pk=evaluation.pk))
    return evaluation


def evaluation_checked(*, batch: Batch, gold_set: GoldSet, metric: str, step, parameters, label_map) -> dict:
    """The fields of an evaluation as asked, checked and completed (the step's position and app, the metric's
    default parameters); raises EvaluationError saying what to change."""
    if metric not in Metric.values:
        raise EvaluationError(f"'{metric}' is not a metric: use one of {', '.join(Metric.values)}.")
    if METRIC_GOLD[metric] != gold_set.kind:
        fits = [m for m, kind in METRIC_GOLD.items() if kind == gold_set.kind]
        raise EvaluationError(
            f"Gold set '{gold_set.name}' holds {gold_set.get_kind_display().lower()}, which {metric} cannot score: "
            f"use {' or '.join(fits)}."
        )
    label_map = label_map or {}
    if not isinstance(label_map, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in label_map.items()
    ):
        raise EvaluationError(
            'The label map must be a JSON object of the app\'s labels to the gold\'s, as {"speech": "S"}.'
        )
    position, app_name = _step(batch, step)
    return {
        "batch": batch,
        "gold_set": gold_set,
        "step": position,
        "app_name": app_name,
        "metric": metric,
        "parameters": metric_parameters(metric, parameters),
        "label_map": label_map,
    }


def _score(evaluation: Evaluation, gold, prediction: Prediction) -> tuple[float | None, dict, dict, str]:
    """(headline, counts, per-label counts, sentence) of one file."""
    metric, parameters = evaluation.metric, evaluation.parameters
    if metric in (Metric.WER, Metric.CER):
        hypothesis = " ".join(prediction.texts)
        unit = "word" if metric == Metric.WER else "char"
        counts = metrics.error_counts(gold, hypothesis, unit=unit, normalise=parameters.get("normalise", False))
        return metrics.error_rate(counts), counts, {}, f"{counts['errors']} edit(s) in {counts['reference']} {unit}s."
    if metric == Metric.OCR_CER:
        counts, matched, missed = metrics.ocr_counts(
            gold, prediction.timed_texts, tolerance_ms=parameters["tolerance_ms"], normalise=parameters["normalise"]
        )
        counts = {**counts}
        rate = metrics.error_rate(counts)
        return rate, counts, {}, f"{matched} gold frame(s) matched a text, {missed} did not."
    if metric == Metric.TIMEFRAME_F1:
        labels = metrics.frame_counts(gold, prediction.frames, min_overlap=parameters["min_overlap"])
    elif metric == Metric.TIMEPOINT_F1:
        labels = metrics.point_counts(gold, prediction.points, tolerance_ms=parameters["tolerance_ms"])
    else:
        labels = metrics.entity_counts(gold, prediction.entities)
    counts = metrics.add_up(labels.values())
    counts = {key: counts.get(key, 0) for key in ("tp", "fp", "fn")}
    return (
        metrics.headline(metric, counts),
        counts,
        labels,
        f"{counts['tp']} matched, {counts['fp']} extra, {counts['fn']} missed.",
    )


def _nothing_to_score(prediction: Prediction, metric: str) -> bool:
    if metric in (Metric.WER, Metric.CER):
        return not prediction.texts
    if metric == Metric.OCR_CER:
        return not prediction.timed_texts
    if metric == Metric.TIMEFRAME_F1:
        return not prediction.frames
    if metric == Metric.TIMEPOINT_F1:
        return not prediction.points
    return False  # no entity found is a score (recall 0), not a wrong output


def evaluation_run(evaluation: Evaluation, job=None) -> Evaluation:
    """Score every file of the evaluation's batch, recording each file's outcome, then the aggregate.

    Files with no gold are counted and listed, not scored as zero; a file whose run failed is listed as such.
    """
    Evaluation.objects.filter(pk=evaluation.pk).update(status=EvaluationStatus.RUNNING, sentence="Scoring…")
    files = list(evaluation.batch.media_files.order_by("guid"))
    gold = {g.media_file_id: g for g in GoldFile.objects.filter(gold_set=evaluation.gold_set)}
    runs = {
        run.media_file_id: run
        for run in Run.objects.current()
        .filter(batch=evaluation.batch)
        .select_related("media_file")
        .prefetch_related("steps")
    }
    Evaluation.objects.filter(pk=evaluation.pk).update(files_total=len(files), files_done=0)
    EvaluationFile.objects.filter(evaluation=evaluation).delete()
    results = []
    for done, media_file in enumerate(files, start=1):
        results.append(_file_result(evaluation, media_file, gold.get(media_file.pk), runs.get(media_file.pk)))
        Evaluation.objects.filter(pk=evaluation.pk).update(files_done=done)
        if job is not None and done % 10 == 0:
            job_progress(job, f"{done} of {len(files)} files scored")
    EvaluationFile.objects.bulk_create(results)
    return _finish(evaluation, results)


def _file_result(evaluation: Evaluation, media_file: MediaFile, gold_file: GoldFile | None, run: Run | None):
    result = EvaluationFile(evaluation=evaluation, media_file=media_file, run=run)
    if gold_file is None:
        result.outcome, result.sentence = FileOutcome.NO_GOLD, "The gold set has no gold for this file."
        return result
    if run is None or run.status in (Status.PENDING, Status.QUEUED, Status.RUNNING):
        result.outcome = FileOutcome.NOT_RUN
        result.sentence = "The file has not finished running in this batch." if run else "The file has not run."
        return result
    if run.status != Status.SUCCEEDED and not any(
        s.position == evaluation.step and s.output_mmif for s in run.steps.all()
    ):
        result.outcome = FileOutcome.RUN_FAILED
        result.sentence = f"The run {run.get_status_display().lower()}: {run.error or 'see the run page'}"
        return result
    try:
        gold = parse_gold(evaluation.gold_set.kind, gold_file.filename, gold_file.content)
    except GoldError as exc:
        result.outcome, result.sentence = FileOutcome.INVALID_GOLD, str(exc)
        return result
    try:
        prediction = read_prediction(run, evaluation.step, evaluation.label_map)
    except PredictionError as exc:
        result.outcome, result.sentence = FileOutcome.INVALID_PREDICTION, str(exc)
        return result
    if _nothing_to_score(prediction, evaluation.metric):
        result.outcome = FileOutcome.INVALID_PREDICTION
        result.sentence = (
            f"Step {evaluation.step} ({evaluation.app_name}) added nothing that {evaluation.metric} reads "
            f"in view(s) {', '.join(prediction.views)}: is it the right step?"
        )
        return result
    result.score, result.counts, result.per_label, result.sentence = _score(evaluation, gold, prediction)
    result.outcome = FileOutcome.SCORED
    return result


def _finish(evaluation: Evaluation, results: list[EvaluationFile]) -> Evaluation:
    scored = [r for r in results if r.outcome == FileOutcome.SCORED]
    tally = {outcome: sum(r.outcome == outcome for r in results) for outcome in FileOutcome.values}
    counts = metrics.add_up(r.counts for r in scored)
    aggregate = {"score": metrics.headline(evaluation.metric, counts) if scored else None, **counts}
    if "tp" in counts:
        aggregate.update(metrics.prf(counts["tp"], counts["fp"], counts["fn"]))
    aggregate["files"] = tally
    said = ", ".join(f"{n} {FileOutcome(o).label.lower()}" for o, n in tally.items() if n)
    if scored:
        status, sentence = EvaluationStatus.DONE, f"Scored {len(scored)} of {len(results)} file(s) ({said})."
    elif tally[FileOutcome.INVALID_PREDICTION]:
        status = EvaluationStatus.INVALID_PREDICTION
        first = next(r for r in results if r.outcome == FileOutcome.INVALID_PREDICTION)
        sentence = f"No file could be scored ({said}): {first.sentence}"
    elif tally[FileOutcome.INVALID_GOLD]:
        status = EvaluationStatus.INVALID_GOLD
        first = next(r for r in results if r.outcome == FileOutcome.INVALID_GOLD)
        sentence = f"No file could be scored ({said}): {first.sentence} Upload the gold again."
    else:
        status = EvaluationStatus.DONE
        sentence = (
            f"No file could be scored ({said or 'the batch has no files'}): give the batch's files gold, or run them."
        )
    Evaluation.objects.filter(pk=evaluation.pk).update(
        status=status,
        sentence=sentence,
        aggregate=aggregate,
        per_label=metrics.label_table(r.per_label for r in scored),
        finished_at=timezone.now(),
    )
    evaluation.refresh_from_db()
    return evaluation


def evaluation_job(job) -> None:
    """The background handler (evaluations/background.py): score the evaluation the job targets."""
    evaluation = Evaluation.objects.select_related("batch", "gold_set").filter(pk=job.target).first()
    if evaluation is None:
        raise JobFailed(f"Evaluation {job.target} was deleted before it was scored.")
    try:
        evaluation_run(evaluation, job)
    except Exception as exc:
        Evaluation.objects.filter(pk=evaluation.pk).update(
            status=EvaluationStatus.FAILED,
            sentence=f"Chowda could not score it ({exc.__class__.__name__}: {exc}); start it again, and tell your "
            "operator if it happens again.",
            finished_at=timezone.now(),
        )
        raise
