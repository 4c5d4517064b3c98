"""What an app said, read from the output MMIF of one step of a run: the views that step added, as the gold's
shapes (frames, points, texts, entities) in seconds and with the evaluation's label map applied."""

from dataclasses import dataclass, field

from django.core.files.storage import default_storage

from evaluations.gold import Entity, Frame, Point
from findings.reader import MmifReadError, annotation_page, label_of, short_type
from findings.selectors import FindingsError, mmif_summary
from findings.tables import RowMaker, text_of
from runs.models import Run, StepRun


class PredictionError(Exception):
    """The step's output cannot be scored (missing, unreadable, or without what the metric reads)."""


@dataclass
class Prediction:
    frames: list[Frame] = field(default_factory=list)
    points: list[Point] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    # Texts aligned to a time (OCR): a frame, or a point as a frame of no length.
    timed_texts: list[tuple[Frame, str]] = field(default_factory=list)
    entities: list[Entity] = field(default_factory=list)
    views: list[str] = field(default_factory=list)


def step_output(run: Run, position: int) -> StepRun:
    """The run's step at ``position`` once it has an output MMIF; raises PredictionError saying why not."""
    step = next((s for s in run.steps.all() if s.position == position), None)
    if step is None:
        raise PredictionError(f"The run of {run.media_file.guid} has no step {position}: pick another step.")
    if not step.output_mmif:
        raise PredictionError(
            f"Step {position} ({step.app_name}) of {run.media_file.guid} has no output ({step.get_status_display()})."
        )
    return step


def read_prediction(run: Run, position: int, label_map: dict[str, str]) -> Prediction:
    """Everything the views new in step ``position`` hold that a metric reads. Raises PredictionError."""
    step = step_output(run, position)
    new = [view.get("id") for view in (step.summary or {}).get("views", [])]
    try:
        summary = mmif_summary(step.output_mmif.name)
    except FindingsError as exc:
        raise PredictionError(str(exc)) from None
    views = [view for view in summary.views if view["id"] in new]
    if not views:
        raise PredictionError(f"Step {position} ({step.app_name}) of {run.media_file.guid} added no view to score.")
    prediction = Prediction(views=[view["id"] for view in views])
    for view in views:
        if view.get("error"):
            raise PredictionError(
                f"Step {position} ({step.app_name}) of {run.media_file.guid} answered an error: "
                f"{view['error']['message']}"
            )
        try:
            with default_storage.open(step.output_mmif.name, "rb") as stream:
                annotations = annotation_page(stream, summary.views, view["id"], 0, view["total"])
        except (MmifReadError, OSError) as exc:
            raise PredictionError(f"Cannot read step {position}'s output for {run.media_file.guid}: {exc}") from None
        _add(prediction, view, annotations, RowMaker(view, summary.frame_rates, summary.documents), label_map)
    return prediction


def _label(properties: dict, label_map: dict[str, str]) -> str:
    label = label_of(properties) or ""
    return label_map.get(label, label)


def _add(prediction: Prediction, view: dict, annotations: list[dict], rows: RowMaker, label_map: dict) -> None:
    times: dict[str, Frame] = {}
    texts: dict[str, str] = {}
    alignments = []
    for annotation in annotations:
        properties = annotation.get("properties") or {}
        kind = short_type(annotation.get("@type", ""))
        ident = str(properties.get("id", ""))
        if kind == "TimeFrame":
            row = rows.row(annotation, {})
            if row["start"] is None or row["end"] is None:
                continue
            frame = Frame(row["start"], row["end"], _label(properties, label_map))
            times[ident] = frame
            prediction.frames.append(frame)
        elif kind == "TimePoint":
            row = rows.row(annotation, {})
            if row["start"] is None:
                continue
            point = Point(row["start"], _label(properties, label_map))
            times[ident] = Frame(point.at, point.at, point.label)
            prediction.points.append(point)
        elif kind == "TextDocument":
            texts[ident] = text_of(properties)
            prediction.texts.append(texts[ident])
        elif kind == "NamedEntity":
            start, end = properties.get("start"), properties.get("end")
            category = properties.get("category") or properties.get("label") or properties.get("entityType")
            if isinstance(start, int) and isinstance(end, int) and category:
                prediction.entities.append(Entity(start, end, label_map.get(str(category), str(category))))
        elif kind == "Alignment":
            alignments.append((str(properties.get("source", "")), str(properties.get("target", ""))))
    for source, target in alignments:
        source, target = _local(source, view["id"]), _local(target, view["id"])
        if source in times and target in texts:
            prediction.timed_texts.append((times[source], texts[target]))
        elif target in times and source in texts:
            prediction.timed_texts.append((times[target], texts[source]))


def _local(reference: str, view_id: str) -> str:
    """``v1:tf1`` in view v1 → ``tf1``: alignments name annotations of their own view either way."""
    prefix = f"{view_id}:"
    return reference[len(prefix) :] if reference.startswith(prefix) else reference
