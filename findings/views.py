import math
from collections.abc import Callable

from django.contrib import admin
from django.contrib.auth.decorators import login_required, permission_required
from django.core.files.storage import default_storage
from django.shortcuts import get_object_or_404, render

from batches.models import Batch, MediaFile
from chowda_site.ids import id_number
from findings import selectors
from findings.media import media_response, player_source
from findings.reader import MmifReadError, annotation_page
from findings.selectors import COMPARE_FILES_MAX, FindingsError, compare, mmif_summary, run_sources, runs_of_file
from findings.tables import RowMaker
from runs.models import Run

PAGE_SIZE = 100
# Links that apps above findings offer on the page comparing two batches ("compare on gold", evaluations/),
# registered in their AppConfig.ready: each is called with the two batches and answers (text, URL) pairs.
COMPARE_BATCHES_LINKS: list[Callable] = []


def can_view_runs(view):
    return login_required(permission_required("runs.view_run", raise_exception=True)(view))


def page_number(value) -> int:
    try:
        return max(1, int(value))
    except (TypeError, ValueError):
        return 1


def seconds(value) -> float | None:
    """``?t=`` (a search hit's moment) as seconds for the player to start at, or None when it is not one."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) and number >= 0 else None


def timeline(summary, views: list[dict]) -> dict:
    """What the page's script draws: the media's length and one lane per view (``views``, named as shown)."""
    return {
        "duration": summary.duration,
        "lanes": [
            {
                "view": view["id"],
                "app": view["app_label"] or view["id"],
                "bars": view.get("bars", []),
                "labels": view.get("bar_labels", []),
                "merged": view.get("merged", False),
            }
            for view in views
        ],
    }


@can_view_runs
def run_findings(request, pk: int, extra_lanes: tuple = ()):
    """What the apps found in one of the run's MMIF: its views, a page of one view's annotations, a timeline.

    A caller may add ``extra_lanes`` to the top of the timeline, as ``timeline`` makes them (evaluations/ shows
    the gold this way, beside the apps' views)."""
    run = get_object_or_404(Run.objects.select_related("batch", "media_file"), pk=pk)
    steps = list(run.steps.select_related("app"))
    sources = run_sources(run, steps)
    context = {
        **admin.site.each_context(request),
        "title": f"What the apps found in {run.media_file.guid}",
        "run": run,
        "sources": sources,
        "opts": Run._meta,
        "other_runs": runs_of_file(run.media_file).exclude(pk=run.pk),
        "rows": None,
    }
    if not sources:
        context["problem"] = "This run has no MMIF to show yet: no step has answered. Come back once one has."
        return render(request, "findings/run_findings.html", context)
    wanted = request.GET.get("source")
    source = next((s for s in sources if s.key == wanted), sources[0])
    try:
        summary = mmif_summary(source.name)
    except FindingsError as exc:
        context.update(source=source, problem=str(exc))
        return render(request, "findings/run_findings.html", context)
    names = selectors.app_names(steps)
    views = [
        {**view, **selectors.shown_app(view["app"], names), "new": view["id"] in source.new_view_ids}
        for view in summary.views
    ]
    view = summary.view(request.GET.get("view", "")) or next((v for v in views if v["total"]), None)
    drawn = timeline(summary, views)
    drawn["lanes"] = [*extra_lanes, *drawn["lanes"]]
    context.update(source=source, summary=summary, views=views, view=view, timeline=drawn)
    context["player_url"], context["player_problem"] = player_source(run.media_file)
    context["start_at"] = seconds(request.GET.get("t"))
    if view is not None:
        context.update(annotations_of(view, summary, source, request.GET))
    return render(request, "findings/run_findings.html", context)


def annotations_of(view: dict, summary, source, query) -> dict:
    """One page of the view's annotations (of one type when ``query`` names one) as rows."""
    kind = query.get("type") or None
    if kind not in view["counts"]:
        kind = None
    total = view["counts"][kind] if kind else view["total"]
    pages = max(1, math.ceil(total / PAGE_SIZE))
    page = min(page_number(query.get("page")), pages)
    try:
        with default_storage.open(source.name, "rb") as stream:
            annotations = annotation_page(stream, summary.views, view["id"], (page - 1) * PAGE_SIZE, PAGE_SIZE, kind)
    except (MmifReadError, OSError) as exc:
        return {"problem": f"Cannot read the annotations of view {view['id']}: {exc}"}
    first_row = (page - 1) * PAGE_SIZE + 1
    return {
        "rows": RowMaker(view, summary.frame_rates, summary.documents).rows(annotations),
        "kind": kind,
        "page": page,
        "pages": pages,
        "first_row": first_row,
        "last_row": first_row + len(annotations) - 1,
        "total_rows": total,
    }


@can_view_runs
def compare_runs(request, pk: int):
    """Annotation counts per app, type and label of two runs of the same file, side by side."""
    run = get_object_or_404(Run.objects.select_related("batch", "media_file"), pk=pk)
    others = runs_of_file(run.media_file).exclude(pk=run.pk)
    context = {
        **admin.site.each_context(request),
        "title": f"Compare runs of {run.media_file.guid}",
        "run": run,
        "other_runs": others,
        "opts": Run._meta,
        "rows": None,
    }
    other_id = request.GET.get("with")
    if other_id:
        other = next((r for r in others if str(r.pk) == other_id), None)
        if other is None:
            context["problem"] = f"Run {other_id} is not another run of {run.media_file.guid}: pick one from the list."
            return render(request, "findings/compare.html", context, status=404)
        context["other"] = other
        try:
            context["rows"] = compare(summary_of(run), summary_of(other))
        except FindingsError as exc:
            context["problem"] = str(exc)
    return render(request, "findings/compare.html", context)


@can_view_runs
def compare_batches(request, pk: int):
    """A pilot's results beside another batch's on the same files: counts per app, type and label, and app time."""
    batch = get_object_or_404(Batch.objects.select_related("pipeline"), pk=pk)
    others = Batch.objects.exclude(pk=batch.pk).select_related("pipeline").order_by("-pk")
    if batch.pipeline_id:
        others = others.filter(pipeline_id=batch.pipeline_id)
    context = {
        **admin.site.each_context(request),
        "title": f"Compare batch {batch.name} with another",
        "batch": batch,
        "other_batches": others[:100],
        "opts": Batch._meta,
        "comparison": None,
        "files_max": COMPARE_FILES_MAX,
    }
    other_id = request.GET.get("with")
    if other_id:
        number = id_number(other_id)
        other = Batch.objects.filter(pk=number).first() if number else None
        if other is None:
            context["problem"] = f"There is no batch {other_id}: pick one from the list."
            return render(request, "findings/compare_batches.html", context, status=404)
        context["other"] = other
        context["more_links"] = [link for offer in COMPARE_BATCHES_LINKS for link in offer(batch, other)]
        try:
            context["comparison"] = selectors.compare_batches(batch, other)
        except FindingsError as exc:
            context["problem"] = str(exc)
    return render(request, "findings/compare_batches.html", context)


def summary_of(run: Run):
    """The summary of the run's final MMIF, or of its latest step output when it has none."""
    sources = [s for s in run_sources(run, list(run.steps.all())) if not s.key.endswith("-error")]
    if not sources:
        raise FindingsError(f"Run {run.pk} (attempt {run.attempt} in {run.batch.name}) has no MMIF to compare yet.")
    return mmif_summary(sources[0].name)


@login_required
@permission_required("batches.view_mediafile", raise_exception=True)
def media_content(request, pk: int):
    """The media file itself, for the player: only under CHOWDA_SERVED_MEDIA_ROOT, with range requests."""
    return media_response(request, get_object_or_404(MediaFile, pk=pk))
