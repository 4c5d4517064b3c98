from django.contrib.auth.decorators import login_required, permission_required
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils.text import slugify

from batches.models import Batch
from runs.downloads import mmif_response, zip_response
from runs.models import Run, Status, StepRun

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
    batch = get_object_or_404(Batch, pk=pk)
    members = (
        Run.objects.filter(batch=batch, superseded=False, status=Status.SUCCEEDED)
        .exclude(final_mmif="")
        .order_by("media_file__guid")
        .values_list("media_file__guid", "final_mmif")
    )
    return zip_response(
        ((f"{guid}.mmif", name) for guid, name in members.iterator()), f"{slugify(batch.name) or 'batch'}-mmif.zip"
    )
