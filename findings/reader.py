"""Reading a stored MMIF as a stream (ijson), never as a whole document.

``summarise`` makes, in one pass over the JSON events, what the viewer shows of every view (app, parameters,
counts, labels, a timeline of TimeFrames), keeping of each annotation only its scalar properties, and only
until the next. ``annotation_page`` reads one page of one view's annotations, skipping those before it by the
summary's counts, and stops there. So a 50 MB MMIF costs the memory of its summary, not of its object tree.
"""

import array
import functools
import itertools
import math
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO

import ijson

VIEW = "views.item"
ANNOTATION = "views.item.annotations.item"
ANNOTATION_TYPE = "views.item.annotations.item.@type"
# Scalars directly under an annotation's properties; nested values (a text's "@value") get dotted names.
ANNOTATION_PROPERTY = "views.item.annotations.item.properties."
SCALARS = frozenset({"string", "number", "boolean", "null"})
VIEW_METADATA = "views.item.metadata"
DOCUMENT = "documents.item"
# A lane of the timeline shows at most this many bars; more TimeFrames are merged into bins per label.
MAX_BARS = 1500
# Labels counted one by one per type (and coloured one by one on the timeline); the rest count as one.
MAX_LABELS = 50
OTHER_LABELS = "(other labels)"
LABEL_PROPERTIES = ("label", "frameType", "classification")


class MmifReadError(ValueError):
    """The stored file is not MMIF that can be read; the message says so in a sentence."""


def short_type(at_type: str) -> str:
    """``http://clams.ai/vocabulary/type/TimeFrame/v6`` → ``TimeFrame``."""
    parts = [part for part in (at_type or "").split("/") if part]
    if len(parts) >= 2 and parts[-1][:1] == "v" and parts[-1][1:].isdigit():
        return parts[-2]
    return parts[-1] if parts else "unknown"


def time_unit(value) -> str:
    """A MMIF timeUnit as ``milliseconds``, ``seconds`` or ``frames``; anything else as given."""
    unit = str(value or "").strip().lower()
    if unit in ("ms", "msec") or unit.startswith("millisecond"):
        return "milliseconds"
    if unit in ("s", "sec", "secs") or unit.startswith("second"):
        return "seconds"
    if unit.startswith("frame"):
        return "frames"
    return unit


def to_seconds(value, unit: str, fps: float | None) -> float | None:
    """A time in ``unit`` as seconds; None when it is not a number or frames come without a frame rate."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    if unit == "milliseconds":
        return value / 1000
    if unit == "frames":
        return value / fps if fps else None
    return float(value)  # seconds, and the MMIF default when a view names no unit


def frame_rate(properties: dict) -> float | None:
    for name in ("fps", "frameRate", "framerate"):
        value = properties.get(name)
        if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
            return float(value)
    return None


def label_of(properties: dict) -> str | None:
    for name in LABEL_PROPERTIES:
        value = properties.get(name)
        if isinstance(value, str | int | float) and not isinstance(value, bool):
            return str(value)
    return None


def not_json(error: Exception) -> MmifReadError:
    return MmifReadError(f"The stored MMIF is not valid JSON ({error}); download it to see what the app wrote.")


def reads_json(read):
    """Turn ijson's errors, raised while ``read`` parses, into a ``MmifReadError`` a curator can read.

    (Catching them around the loop, not inside a generator wrapping every event, keeps the parse fast.)
    """

    @functools.wraps(read)
    def reading(*args, **kwargs):
        try:
            return read(*args, **kwargs)
        except ijson.JSONError as error:
            raise not_json(error) from error

    return reading


def _build(events: Iterator, prefix: str, first: tuple[str, object]):
    """The object whose ``start_map`` (or ``start_array``) ``first`` was just read at ``prefix``."""
    builder = ijson.ObjectBuilder()
    builder.event(*first)
    end = "end_map" if first[0] == "start_map" else "end_array"
    for event_prefix, event, value in events:
        builder.event(event, value)
        if event_prefix == prefix and event == end:
            return builder.value
    raise MmifReadError("The stored MMIF ends in the middle of an object; download it to see what the app wrote.")


@dataclass
class _Timeline:
    """A view's TimeFrames in seconds, kept as compact arrays rather than objects."""

    starts: array.array = field(default_factory=lambda: array.array("d"))
    ends: array.array = field(default_factory=lambda: array.array("d"))
    label_ids: array.array = field(default_factory=lambda: array.array("l"))
    labels: dict[str, int] = field(default_factory=dict)

    def add(self, start: float, end: float, label: str) -> None:
        self.starts.append(start)
        self.ends.append(max(start, end))
        if label not in self.labels and len(self.labels) >= MAX_LABELS:
            label = OTHER_LABELS
        self.label_ids.append(self.labels.setdefault(label, len(self.labels)))

    def bars(self) -> tuple[list[list], bool]:
        """``[start, end, label index]`` per bar, and whether frames were merged into bins to keep them few."""
        if len(self.starts) <= MAX_BARS:
            return [[s, e, i] for s, e, i in zip(self.starts, self.ends, self.label_ids, strict=True)], False
        first, last = min(self.starts), max(self.ends)
        bins = max(1, MAX_BARS // max(1, len(self.labels)))
        width = (last - first) / bins or 1.0
        covered: dict[tuple[int, int], None] = {}
        for start, end, label in zip(self.starts, self.ends, self.label_ids, strict=True):
            for index in range(int((start - first) / width), min(bins - 1, int((end - first) / width)) + 1):
                covered[(label, index)] = None
        merged: list[list] = []
        for label, index in sorted(covered):
            start, end = first + index * width, first + (index + 1) * width
            if merged and merged[-1][2] == label and math.isclose(merged[-1][1], start):
                merged[-1][1] = end
            else:
                merged.append([start, end, label])
        return merged, True


def _view_summary(view_id: str, metadata: dict) -> dict:
    app = str(metadata.get("app") or "")
    error = metadata.get("error") if isinstance(metadata.get("error"), dict) else None
    contains = metadata.get("contains") if isinstance(metadata.get("contains"), dict) else {}
    return {
        "id": view_id,
        "app": app,
        "timestamp": str(metadata.get("timestamp") or ""),
        "parameters": metadata.get("appConfiguration") or metadata.get("parameters") or {},
        "contains": {short_type(t): props if isinstance(props, dict) else {} for t, props in contains.items()},
        "warnings": [str(w) for w in metadata.get("warnings") or []],
        "error": {"message": str(error.get("message", "")), "stack_trace": str(error.get("stackTrace", ""))}
        if error
        else None,
        "counts": {},
        "labels": {},
        "total": 0,
    }


class ViewTimes:
    """How one view counts time: its unit and frame rate per annotation type, from metadata and documents."""

    def __init__(self, contains: dict, frame_rates: dict[str, float]):
        self.contains, self.frame_rates = contains, frame_rates
        self.common: dict[str, tuple[str, float | None]] = {}

    def seconds(self, kind: str, properties: dict, name: str) -> float | None:
        if "timeUnit" in properties or "fps" in properties or "document" in properties:
            unit, fps = self._unit_and_rate(kind, properties)
        else:  # the usual case: every annotation of the type counts time as the view's metadata says
            unit, fps = self.common.get(kind) or self.common.setdefault(kind, self._unit_and_rate(kind, {}))
        return to_seconds(properties.get(name), unit, fps)

    def _unit_and_rate(self, kind: str, properties: dict) -> tuple[str, float | None]:
        common = self.contains.get(kind, {})
        unit = time_unit(properties.get("timeUnit") or common.get("timeUnit") or "seconds")
        fps = frame_rate(properties) or frame_rate(common)
        document = properties.get("document") or common.get("document")
        fps = fps or self.frame_rates.get(str(document)) or next(iter(self.frame_rates.values()), None)
        return unit, fps

    def unit(self, kind: str) -> str:
        return time_unit(self.contains.get(kind, {}).get("timeUnit") or "seconds")


@reads_json
def summarise(stream: IO[bytes]) -> dict:
    """Documents and one summary per view, read in one streaming pass.

    Returns ``{"documents": [...], "views": [...], "duration": seconds or None}``; each view has its app's
    identifier (``findings.selectors.shown_app`` names the app), parameters, warnings, error, annotation counts
    per type, label counts per type, its time unit and a timeline (``bars``, ``labels``, ``merged``) when it
    holds TimeFrames. Raises ``MmifReadError``.
    """
    events = ijson.parse(stream, use_float=True)
    documents: list[dict] = []
    frame_rates: dict[str, float] = {}
    views: list[dict] = []
    view: dict | None = None
    times: ViewTimes | None = None
    timeline: _Timeline | None = None
    counts: Counter = Counter()
    labels: defaultdict = defaultdict(Counter)
    longest = 0.0
    kinds: dict[str, str] = {}
    property_names: dict[str, str] = {}
    at_type, properties = "", {}

    def close_view():
        nonlocal longest
        if view is None:
            return
        view["counts"], view["total"] = dict(counts), sum(counts.values())
        view["labels"] = {kind: dict(found) for kind, found in labels.items()}
        view["time_unit"] = times.unit("TimeFrame") if times else "seconds"
        if timeline is not None and timeline.starts:
            view["bars"], view["merged"] = timeline.bars()
            view["bar_labels"] = list(timeline.labels)
            longest = max(longest, max(timeline.ends))
        views.append(view)

    for prefix, event, value in events:
        # The hottest branch first: an annotation's own properties, collected without building objects.
        name = property_names.get(prefix)
        if name is None and prefix.startswith(ANNOTATION_PROPERTY):
            name = property_names[prefix] = prefix[len(ANNOTATION_PROPERTY) :]
        if name is not None:
            if event in SCALARS:
                properties[name] = value
        elif prefix == DOCUMENT and event == "start_map":
            document = _build(events, prefix, (event, value))
            documents.append(_document_summary(document))
            document_properties = document.get("properties") or {}
            if frame_rate(document_properties):
                frame_rates[str(document_properties.get("id"))] = frame_rate(document_properties)
        elif prefix == VIEW and event == "start_map":
            close_view()
            view, times, timeline = _view_summary("", {}), ViewTimes({}, frame_rates), None
            counts, labels = Counter(), defaultdict(Counter)
        elif prefix == "views.item.id" and view is not None:
            view["id"] = str(value)
        elif prefix == VIEW_METADATA and event == "start_map" and view is not None:
            metadata = _build(events, prefix, (event, value))
            view.update({k: v for k, v in _view_summary(view["id"], metadata).items() if k != "id"})
            times = ViewTimes(view["contains"], frame_rates)
        elif prefix == ANNOTATION_TYPE:
            at_type = value
        elif prefix == ANNOTATION and event == "start_map":
            at_type, properties = "", {}
        elif prefix == ANNOTATION and event == "end_map" and view is not None:
            kind = kinds.get(at_type) or kinds.setdefault(at_type, short_type(at_type))
            counts[kind] += 1
            label = label_of(properties)
            if label is not None:
                found = labels[kind]
                found[label if label in found or len(found) < MAX_LABELS else OTHER_LABELS] += 1
            if kind == "TimeFrame":
                start = times.seconds(kind, properties, "start")
                end = times.seconds(kind, properties, "end")
                if start is not None and end is not None:
                    timeline = timeline or _Timeline()
                    timeline.add(start, end, label or "unlabelled")
            elif frame_rate(properties) and properties.get("id"):
                frame_rates[str(properties["id"])] = frame_rate(properties)
    close_view()
    durations = [d["duration"] for d in documents if d.get("duration")]
    return {
        "documents": documents,
        "views": views,
        "frame_rates": frame_rates,
        "duration": max([longest, *durations]) or None,
    }


def _document_summary(document: dict) -> dict:
    properties = document.get("properties") or {}
    duration = properties.get("duration")
    return {
        "id": str(properties.get("id", "")),
        "type": short_type(document.get("@type", "")),
        "location": str(properties.get("location", "")),
        "mime": str(properties.get("mime", "")),
        "duration": duration if isinstance(duration, int | float) and not isinstance(duration, bool) else None,
    }


@reads_json
def annotation_page(
    stream: IO[bytes], views: list[dict], view_id: str, offset: int, limit: int, kind: str | None = None
) -> list[dict]:
    """Annotations ``offset`` to ``offset + limit`` of view ``view_id`` (of type ``kind`` when given), read by
    streaming up to the last of them, one annotation at a time.

    ``views`` are the summary's views in the document's order, with their totals: annotations of the views
    before this one are skipped by count, in ijson's C parser, never as Python events. Returns [] for a view
    the summary does not have. Raises ``MmifReadError``.
    """
    before = 0
    for view in views:
        if view["id"] == view_id:
            break
        before += view["total"]
    else:
        return []
    every = (a for a in ijson.items(stream, ANNOTATION, use_float=True) if isinstance(a, dict))  # as summarised
    annotations = itertools.islice(every, before, before + view["total"])
    if kind is not None:
        annotations = (a for a in annotations if short_type(a.get("@type", "")) == kind)
    return list(itertools.islice(annotations, offset, offset + limit))
