"""Reads for the viewer: which MMIF a run has, their cached summaries, a file's runs, and counts to compare."""

from collections import defaultdict
from dataclasses import dataclass

from django.core.files.storage import default_storage
from django.db.models import QuerySet

from batches.models import MediaFile
from findings.models import MmifSummary
from findings.reader import MmifReadError, summarise
from runs.models import Run, Status, StepRun


class FindingsError(Exception):
    """A MMIF the viewer cannot show; the message says why and what to do."""


@dataclass(frozen=True)
class Source:
    """One stored MMIF of a run that the viewer can show."""

    key: str  # "final", "step-2" or "step-2-error", as in the page's address
    label: str
    name: str  # in Django's storage
    new_view_ids: frozenset = frozenset()


def run_sources(run: Run, steps: list[StepRun]) -> list[Source]:
    """The run's final MMIF first (when it has one), then each step's output or error MMIF, last step first."""
    sources = []
    if run.final_mmif:
        sources.append(Source("final", "Final MMIF", run.final_mmif.name))
    for step in sorted(steps, key=lambda s: s.position, reverse=True):
        new_views = frozenset(view.get("id") for view in (step.summary or {}).get("views", []))
        if step.output_mmif:
            label = f"Step {step.position} ({step.app_name}): output"
            sources.append(Source(f"step-{step.position}", label, step.output_mmif.name, new_views))
        if step.error_mmif:
            label = f"Step {step.position} ({step.app_name}): error MMIF"
            sources.append(Source(f"step-{step.position}-error", label, step.error_mmif.name))
    return sources


def mmif_summary(name: str) -> MmifSummary:
    """The summary of the stored MMIF ``name``: read from the database, or made by one streaming pass and kept.

    Raises ``FindingsError`` when the file is missing or is not MMIF.
    """
    try:
        size = default_storage.size(name)
    except OSError:
        raise FindingsError(
            f"The stored MMIF {name} is missing from Chowda's storage: check that every process shares "
            "CHOWDA_MEDIA_ROOT, or run the file again."
        ) from None
    summary = MmifSummary.objects.filter(name=name).first()
    if summary is not None and summary.size == size:
        return summary
    try:
        with default_storage.open(name, "rb") as stream:
            found = summarise(stream)
    except MmifReadError as exc:
        raise FindingsError(str(exc)) from None
    summary, _ = MmifSummary.objects.update_or_create(name=name, defaults={"size": size, **found})
    return summary


def runs_of_file(media_file: MediaFile) -> QuerySet[Run]:
    return Run.objects.filter(media_file=media_file).select_related("batch__pipeline").order_by("-created_at", "-pk")


def media_file_history(media_file: MediaFile) -> list[Run]:
    """Every run of the file across batches, newest first, in one query. Each run gets
    ``latest_for_pipeline``: True on the latest successful run of its batch's pipeline that has a final MMIF.
    """
    runs = list(runs_of_file(media_file))
    latest: dict[int | None, Run] = {}
    for run in runs:
        if run.status == Status.SUCCEEDED and run.final_mmif:
            pipeline = run.batch.pipeline_id
            best = latest.get(pipeline)
            if best is None or (run.finished_at or run.created_at) > (best.finished_at or best.created_at):
                latest[pipeline] = run
    chosen = {run.pk for run in latest.values()}
    for run in runs:
        run.latest_for_pipeline = run.pk in chosen
    return runs


def label_counts(summary: MmifSummary) -> dict[tuple[str, str, str], int]:
    """Annotation counts per (app, type, label), the label "" standing for all of a type; views of one app
    (any version) add up, so two runs compare app by app."""
    counts: dict[tuple[str, str, str], int] = defaultdict(int)
    for view in summary.views:
        app = view.get("app_name") or view["id"]
        for kind, count in view.get("counts", {}).items():
            counts[(app, kind, "")] += count
            for label, labelled in view.get("labels", {}).get(kind, {}).items():
                counts[(app, kind, label)] += labelled
    return counts


def compare(left: MmifSummary, right: MmifSummary) -> list[dict]:
    """Rows of (app, type, label) with each side's count, in order of app, type, then label."""
    left_counts, right_counts = label_counts(left), label_counts(right)
    return [
        {
            "app": app,
            "type": kind,
            "label": label,
            "left": left_counts.get(key, 0),
            "right": right_counts.get(key, 0),
            "differs": left_counts.get(key, 0) != right_counts.get(key, 0),
        }
        for key in sorted(set(left_counts) | set(right_counts))
        for app, kind, label in [key]
    ]
