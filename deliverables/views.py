from django.contrib.auth.decorators import login_required, permission_required
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404

from batches.models import Batch
from deliverables.downloads import batch_deliverable_zip, deliverable_response
from deliverables.formats import KINDS, FormatError
from runs.models import Run


def can_view_runs(view):
    # Downloading is viewing: Viewers may, as with the MMIF downloads.
    return login_required(permission_required("runs.view_run", raise_exception=True)(view))


def known_kind(kind: str) -> None:
    if kind not in KINDS:
        raise Http404(f"There is no deliverable called {kind!r}: ask for one of {', '.join(KINDS)}.")


@can_view_runs
def run_deliverable(request, pk: int, kind: str):
    """One deliverable of the run's final MMIF, as ``<guid>.<ext>``."""
    known_kind(kind)
    run = get_object_or_404(Run.objects.select_related("media_file"), pk=pk)
    if not run.final_mmif:
        raise Http404("This run has no final MMIF yet: deliverables are written from it once the run succeeds.")
    try:
        return deliverable_response(run, kind)
    except FormatError as exc:
        return HttpResponse(f"{exc}\n", status=422, content_type="text/plain; charset=utf-8")


@can_view_runs
def batch_deliverable(request, pk: int, kind: str):
    """A zip of one deliverable for every file of the batch whose latest run succeeded."""
    known_kind(kind)
    return batch_deliverable_zip(get_object_or_404(Batch, pk=pk), kind)
