from django.contrib import admin, messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from batches.models import Batch
from runs import live
from runs.downloads import batch_zip_response, mmif_response
from runs.models import Run, StepRun
from runs.services import RunnerError, batch_cancel, batch_retry_failed, batch_start

STEP_FILES = {"input": "input_mmif", "output": "output_mmif", "error": "error_mmif"}


def can_view_runs(view):
    return login_required(permission_required("runs.view_run", raise_exception=True)(view))


@can_view_runs
def run_mmif(request, pk: int):
    """The run's final MMIF as ``<guid>.mmif``."""
    run = get_object_or_404(Run.objects.select_related("media_file"), pk=pk)
    if not run.final_mmif:
        raise Http404("This run has no final MMIF: it has not succeeded.")
    return mmif_response(run.final_mmif.name, f"{run.media_file.guid}.mmif")


@can_view_runs
def step_mmif(request, pk: int, position: int, kind: str):
    """A step's input, output or error MMIF."""
    if kind not in STEP_FILES:
        raise Http404("Ask for the input, output or error MMIF of a step.")
    step = get_object_or_404(StepRun.objects.select_related("run__media_file"), run_id=pk, position=position)
    stored = getattr(step, STEP_FILES[kind])
    if not stored:
        raise Http404(f"Step {position} has no {kind} MMIF.")
    return mmif_response(stored.name, f"{step.run.media_file.guid}.step-{position}.{kind}.mmif")


@can_view_runs
def batch_mmif_zip(request, pk: int):
    """A zip of the final MMIF of every file of the batch whose latest run succeeded, one ``<guid>.mmif`` each."""
    return batch_zip_response(get_object_or_404(Batch, pk=pk))


@can_view_runs
def batch_live(request, pk: int):
    """The live batch page: counts, progress, one row per file and one column per step, updated over a websocket."""
    if not request.user.has_perm("batches.view_batch"):
        raise PermissionDenied
    batch = get_object_or_404(Batch.objects.select_related("pipeline"), pk=pk)
    status = request.GET.get("status") or None
    snapshot = live.batch_snapshot(batch, page=live.page_number(request.GET.get("page")), status=status)
    return render(
        request,
        "runs/batch_live.html",
        {
            **admin.site.each_context(request),
            "title": f"Batch {batch.name}",
            "batch": batch,
            "snapshot": snapshot,
            "filters": live.filter_choices(),
            "may_run": request.user.has_perm("batches.run_batch"),
            "opts": Batch._meta,
        },
    )


@can_view_runs
def run_live(request, pk: int):
    """The live run page: the steps as a timeline, with errors, MMIF links and what each app added."""
    run = get_object_or_404(Run.objects.select_related("batch", "media_file"), pk=pk)
    return render(
        request,
        "runs/run_live.html",
        {
            **admin.site.each_context(request),
            "title": f"{run.media_file.guid} in {run.batch.name}",
            "run": run,
            "snapshot": live.run_snapshot(run),
            "parameters": live.run_parameters(run),
            "opts": Run._meta,
        },
    )


BATCH_ACTIONS = {"start": batch_start, "cancel": batch_cancel, "retry": batch_retry_failed}


@require_POST
@login_required
def batch_action(request, pk: int, action: str):
    """Start, cancel or retry a batch from its live page, then go back to it."""
    if action not in BATCH_ACTIONS:
        raise Http404("Batches can be started, cancelled or retried.")
    if not request.user.has_perm("batches.run_batch"):
        raise PermissionDenied
    batch = get_object_or_404(Batch, pk=pk)
    try:
        result = BATCH_ACTIONS[action](batch)
    except RunnerError as exc:
        said, level = str(exc), messages.ERROR
    else:
        said, level = result.sentence, messages.SUCCESS if result else messages.WARNING
    if request.headers.get("Accept") == "application/json":  # the live page, which stays put
        return JsonResponse({"message": said}, status=200 if level == messages.SUCCESS else 409)
    messages.add_message(request, level, said)
    return redirect("runs:batch_live", pk=batch.pk)
