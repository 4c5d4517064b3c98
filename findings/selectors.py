"""Reads for the viewer: which MMIF a run has, their cached summaries, a file's runs, and counts to compare."""

from collections import defaultdict
from dataclasses import dataclass

from django.core.files.storage import default_storage
from django.db.models import QuerySet

from batches.models import MediaFile
from clams_apps.metadata import identifier_label, split_identifier
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


def app_names(steps: list[StepRun]) -> dict[str, str]:
    """The name in the metadata of each step's app (loaded with the steps), by its identifier without the version."""
    names = {}
    for step in steps:
        metadata = step.app.metadata if step.app else {}
        if metadata.get("identifier") and metadata.get("name"):
            names[split_identifier(str(metadata["identifier"]))[0]] = str(metadata["name"])
    return names


def shown_app(identifier: str, names: dict[str, str]) -> dict:
    """How the viewer names the app that made a view: the name in its metadata (``app_names``) or else the
    short name in its identifier, as ``app_label``; and the version in its identifier, "" when it has none
    or clams-python could not tell it."""
    base, version = split_identifier(identifier)
    return {"app_label": names.get(base) or identifier_label(identifier), "version": version}


def mmif_summary(name: str) -> MmifSummary:
    """The summary of the stored MMIF ``name``: read from the database, or made by one streaming pass and kept.

    Raises ``FindingsError`` when the file is missing or is not MMIF.
    """
    return _summary(name, MmifSummary.objects.filter(name=name).first())


def mmif_summaries(names: list[str]) -> dict[str, MmifSummary]:
    """``mmif_summary`` of each name, with the kept summaries read in one query: a page comparing 200 files
    makes one query for them, not 200 (only a MMIF never read, or rewritten, is read and kept again)."""
    kept = {summary.name: summary for summary in MmifSummary.objects.filter(name__in=names)}
    return {name: _summary(name, kept.get(name)) for name in names}


def _summary(name: str, kept: MmifSummary | None) -> MmifSummary:
    """``kept`` if it still describes the stored file (same size), else the file summarised again and kept."""
    try:
        size = default_storage.size(name)
    except OSError:
        raise FindingsError(
            f"The stored MMIF {name} is missing from Chowda's storage: check that every process shares "
            "CHOWDA_MEDIA_ROOT, or run the file again."
        ) from None
    if kept is not None and kept.size == size:
        return kept
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
        app = split_identifier(view.get("app", ""))[0] or view["id"]
        for kind, count in view.get("counts", {}).items():
            counts[(app, kind, "")] += count
            for label, labelled in view.get("labels", {}).get(kind, {}).items():
                counts[(app, kind, label)] += labelled
    return counts


def compare(left: MmifSummary, right: MmifSummary) -> list[dict]:
    """Rows of (app, type, label) with each side's count, in order of app, type, then label."""
    return _rows(label_counts(left), label_counts(right))


def _rows(left_counts: dict, right_counts: dict) -> list[dict]:
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


# A comparison reads one summary per file and side: a pilot is small, and a page of this many stays quick.
COMPARE_FILES_MAX = 200


@dataclass
class FileComparison:
    guid: str
    left: Run
    right: Run
    left_count: int
    right_count: int
    left_seconds: float
    right_seconds: float


@dataclass
class BatchComparison:
    """Two batches' results on the files both have run successfully: annotation counts per app, type and label
    added up over those files (``rows``, as ``compare`` makes them), app time per file, and each side's parameters."""

    rows: list[dict]
    files: list[FileComparison]
    left_parameters: list[list[dict]]
    right_parameters: list[list[dict]]
    left_seconds: float
    right_seconds: float
    left_only: int
    right_only: int
    truncated: bool


def _succeeded(batch) -> dict[str, Run]:
    runs = (
        Run.objects.current()
        .filter(batch=batch, status=Status.SUCCEEDED)
        .exclude(final_mmif="")
        .select_related("media_file")
    )
    return {run.media_file.guid: run for run in runs}


def _app_seconds(runs: list[Run]) -> dict[int, float]:
    seconds: dict[int, float] = defaultdict(float)
    for run_id, duration in StepRun.objects.filter(run__in=runs, duration__isnull=False).values_list(
        "run_id", "duration"
    ):
        seconds[run_id] += duration
    return seconds


def _parameter_sets(runs: list[Run]) -> list[list[dict]]:
    """The distinct step parameters these runs used (a batch whose pilot overrode some has two sets)."""
    sets: list[list[dict]] = []
    for run in runs:
        steps = [
            {
                "position": s["position"],
                "app": s["app_name"],
                "parameters": s["parameters"],
                "overrides": s.get("overrides"),
            }
            for s in run.pipeline_snapshot
        ]
        if steps not in sets:
            sets.append(steps)
    return sets


def compare_batches(left_batch, right_batch) -> BatchComparison:
    """Compare two batches over the files both have run successfully (at most ``COMPARE_FILES_MAX``, by GUID).

    Raises ``FindingsError`` when they have no such file in common, or a MMIF cannot be read.
    """
    left_runs, right_runs = _succeeded(left_batch), _succeeded(right_batch)
    common = sorted(set(left_runs) & set(right_runs))
    if not common:
        raise FindingsError(
            f"Batches '{left_batch.name}' and '{right_batch.name}' have no file that succeeded in both: "
            "run the same files in both (for a pilot, list the same GUIDs), then compare."
        )
    shown = common[:COMPARE_FILES_MAX]
    pairs = [(left_runs[guid], right_runs[guid]) for guid in shown]
    seconds = _app_seconds([run for pair in pairs for run in pair])
    summaries = mmif_summaries([run.final_mmif.name for pair in pairs for run in pair])
    left_total: dict = defaultdict(int)
    right_total: dict = defaultdict(int)
    files = []
    for guid, (left, right) in zip(shown, pairs, strict=True):
        left_counts = label_counts(summaries[left.final_mmif.name])
        right_counts = label_counts(summaries[right.final_mmif.name])
        for key, count in left_counts.items():
            left_total[key] += count
        for key, count in right_counts.items():
            right_total[key] += count
        files.append(
            FileComparison(
                guid,
                left,
                right,
                sum(n for (_, _, label), n in left_counts.items() if not label),
                sum(n for (_, _, label), n in right_counts.items() if not label),
                seconds[left.pk],
                seconds[right.pk],
            )
        )
    return BatchComparison(
        rows=_rows(left_total, right_total),
        files=files,
        left_parameters=_parameter_sets([left for left, _ in pairs]),
        right_parameters=_parameter_sets([right for _, right in pairs]),
        left_seconds=sum(f.left_seconds for f in files),
        right_seconds=sum(f.right_seconds for f in files),
        left_only=len(set(left_runs) - set(right_runs)),
        right_only=len(set(right_runs) - set(left_runs)),
        truncated=len(common) > len(shown),
    )
