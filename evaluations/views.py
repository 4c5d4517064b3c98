"""The evaluation's page (aggregate, per label, per file worst first, live progress), its CSV, the findings
viewer with the gold as its own row, and A/B on gold."""

import io

from django.contrib import admin
from django.contrib.auth.decorators import login_required, permission_required
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, render

from chowda_site import spreadsheets
from evaluations import selectors
from evaluations.models import ACTIVE_EVALUATION_STATUSES, Evaluation, EvaluationFile, FileOutcome
from findings import views as findings_views


def can_view_evaluations(view):
    return login_required(permission_required("evaluations.view_evaluation", raise_exception=True)(view))


def _evaluation(pk: int) -> Evaluation:
    return get_object_or_404(selectors.evaluations_listed(), pk=pk)


def status_of(evaluation: Evaluation) -> dict:
    """What the page polls while the evaluation runs."""
    return {
        "id": evaluation.pk,
        "status": evaluation.status,
        "status_label": evaluation.get_status_display(),
        "active": evaluation.status in ACTIVE_EVALUATION_STATUSES,
        "sentence": evaluation.sentence,
        "files_done": evaluation.files_done,
        "files_total": evaluation.files_total,
    }


@can_view_evaluations
def evaluation_page(request, pk: int):
    evaluation = _evaluation(pk)
    files = selectors.files_worst_first(evaluation)
    return render(
        request,
        "evaluations/evaluation.html",
        {
            **admin.site.each_context(request),
            "title": f"Evaluation {evaluation.pk}: {evaluation.get_metric_display()}",
            "evaluation": evaluation,
            "status": status_of(evaluation),
            "files": files,
            "scored": [f for f in files if f.outcome == FileOutcome.SCORED],
            "comparable": selectors.comparable(evaluation)[:100],
            "opts": Evaluation._meta,
        },
    )


@can_view_evaluations
def evaluation_status(request, pk: int):
    return JsonResponse(status_of(_evaluation(pk)))


CSV_COLUMNS = ["guid", "outcome", "score", "tp", "fp", "fn", "errors", "reference", "run", "sentence"]


@can_view_evaluations
def evaluation_csv(request, pk: int):
    """Per-file scores, worst first, as CSV."""
    evaluation = _evaluation(pk)
    out = io.StringIO()
    writer = spreadsheets.writer(out)
    writer.writerow(CSV_COLUMNS)
    for f in selectors.files_worst_first(evaluation):
        writer.writerow(
            [f.media_file.guid, f.outcome, "" if f.score is None else f.score]
            + [f.counts.get(key, "") for key in ("tp", "fp", "fn", "errors", "reference")]
            + [f.run_id or "", f.sentence]
        )
    response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="evaluation-{evaluation.pk}.csv"'
    return response


@can_view_evaluations
def gold_viewer(request, pk: int, file_pk: int):
    """The findings viewer of the file's run in the evaluated batch, with the gold as the timeline's first row."""
    evaluation = _evaluation(pk)
    result = EvaluationFile.objects.filter(evaluation=evaluation, media_file_id=file_pk).first()
    if result is None or result.run_id is None:
        raise Http404("This file has no run in the evaluated batch.")
    lane = selectors.gold_lane(evaluation, file_pk)
    return findings_views.run_findings(request, pk=result.run_id, extra_lanes=(lane,) if lane else ())


@can_view_evaluations
def compare_page(request, pk: int):
    """Two evaluations of the same gold set and metric side by side, with the bootstrap interval of the difference."""
    evaluation = _evaluation(pk)
    others = selectors.comparable(evaluation)
    context = {
        **admin.site.each_context(request),
        "title": f"Compare on gold: evaluation {evaluation.pk}",
        "evaluation": evaluation,
        "others": others[:100],
        "opts": Evaluation._meta,
    }
    other_id = request.GET.get("with")
    status = 200
    if other_id:
        other = others.filter(pk=int(other_id)).first() if other_id.isdigit() else None
        if other is None:
            context["problem"] = (
                f"Evaluation {other_id} is not a finished evaluation of gold set '{evaluation.gold_set.name}' with "
                f"{evaluation.get_metric_display()}: pick one from the list."
            )
            status = 404
        else:
            context.update(other=other, comparison=selectors.compare_on_gold(evaluation, other))
    return render(request, "evaluations/compare.html", context, status=status)
