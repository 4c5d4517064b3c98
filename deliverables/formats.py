"""What catalogers use, written from a run's final MMIF with mmif-python: captions (WebVTT, SRT), a plain
transcript, and a CSV of every TimeFrame.

Captions come from the TextDocuments that an app aligned to TimeFrames (a transcript's sentences with their
times); when no app did, from the labelled TimeFrames themselves (a segmenter's "sound" and "silence").
"""

import io
from dataclasses import dataclass

from mmif import AnnotationTypes, DocumentTypes, Mmif
from mmif.serialize.annotation import Annotation, Document
from mmif.serialize.view import View

from chowda_site import spreadsheets
from chowda_site.refusals import Refused

# The deliverables by name: what the file is called after the GUID, and its content type.
KINDS: dict[str, tuple[str, str]] = {
    "vtt": ("vtt", "text/vtt; charset=utf-8"),
    "srt": ("srt", "application/x-subrip; charset=utf-8"),
    "transcript": ("txt", "text/plain; charset=utf-8"),
    "timeframes": ("csv", "text/csv; charset=utf-8"),
}
KIND_LABELS = {
    "vtt": "WebVTT captions",
    "srt": "SRT captions",
    "transcript": "plain transcript",
    "timeframes": "CSV of time frames",
}
# Seconds per unit of a view's timeUnit; frames need the document's frame rate.
SECONDS_PER_UNIT = {"milliseconds": 0.001, "millisecond": 0.001, "ms": 0.001, "seconds": 1.0, "second": 1.0, "s": 1.0}


class FormatError(Refused, ValueError):
    """The MMIF cannot be turned into the deliverable; the message says why."""


@dataclass(frozen=True)
class Cue:
    start: float  # seconds
    end: float
    text: str


@dataclass(frozen=True)
class Frame:
    start: float  # seconds
    end: float
    label: str
    app: str


def deliverable_text(kind: str, mmif_text: str) -> str:
    """The deliverable ``kind`` (a key of KINDS) of one MMIF. Raises FormatError when the MMIF is not
    valid or a time unit cannot be converted."""
    return write_deliverable(kind, read_mmif(mmif_text))


def write_deliverable(kind: str, mmif: Mmif) -> str:
    """The deliverable ``kind`` of a MMIF already read (several deliverables of one file read it once).
    Raises FormatError as ``deliverable_text`` does."""
    if kind == "vtt":
        return webvtt(captions(mmif))
    if kind == "srt":
        return srt(captions(mmif))
    if kind == "transcript":
        return transcript(mmif)
    if kind == "timeframes":
        return timeframes_csv(time_frames(mmif))
    raise FormatError(f"There is no deliverable called {kind!r}: choose one of {', '.join(KINDS)}.")


def read_mmif(text: str) -> Mmif:
    try:
        return Mmif(text)
    except Exception as exc:  # mmif-python raises jsonschema's and json's errors alike
        raise FormatError(f"The MMIF is not valid, so no deliverable can be written from it: {exc}") from None


def seconds(mmif: Mmif, annotation: Annotation, value: float) -> float:
    unit = str(annotation.get("timeUnit") or "milliseconds").lower()
    if unit in SECONDS_PER_UNIT:
        return value * SECONDS_PER_UNIT[unit]
    if unit in ("frames", "frame"):
        rate = frame_rate(mmif, annotation)
        if rate:
            return value / rate
    raise FormatError(
        f"Annotation {annotation.id} counts time in {unit!r}, which Chowda cannot turn into seconds: "
        "ask for the app to write milliseconds or seconds."
    )


def frame_rate(mmif: Mmif, annotation: Annotation) -> float | None:
    document_id = annotation.get("document")
    if document_id:
        try:
            rate = mmif[document_id].get("fps")
        except KeyError:
            rate = None
        if rate:
            return float(rate)
    return None


def span(mmif: Mmif, annotation: Annotation) -> tuple[float, float]:
    """A TimeFrame's start and end in seconds, from its own start/end or from the TimePoints it targets."""
    try:
        start, end = mmif.get_start(annotation), mmif.get_end(annotation)
    except (KeyError, ValueError):
        raise FormatError(f"TimeFrame {annotation.id} has no start and end.") from None
    return seconds(mmif, annotation, start), seconds(mmif, annotation, end)


def app_name(view: View) -> str:
    return str(view.metadata.app or view.id)


def time_frames(mmif: Mmif) -> list[Frame]:
    """Every TimeFrame of every view, in time order."""
    frames = [
        Frame(*span(mmif, frame), str(frame.get("label") or frame.get("frameType") or ""), app_name(view))
        for view in mmif.views
        for frame in view.get_annotations(AnnotationTypes.TimeFrame)
    ]
    return sorted(frames, key=lambda f: (f.start, f.end, f.app))


def lookup(mmif: Mmif, view: View, identifier: str):
    """The document or annotation an Alignment names, written long (``v1:tf_1``) or short within its view."""
    for candidate in (identifier, f"{view.id}:{identifier}"):
        try:
            return mmif[candidate]
        except KeyError:
            continue
    return None


def aligned_texts(mmif: Mmif) -> list[Cue]:
    """The TextDocuments that an Alignment ties to a TimeFrame, as cues in time order."""
    cues = []
    for view in mmif.views:
        for alignment in view.get_annotations(AnnotationTypes.Alignment):
            ends = [lookup(mmif, view, alignment.get(key) or "") for key in ("source", "target")]
            frames = [e for e in ends if isinstance(e, Annotation) and e.at_type == AnnotationTypes.TimeFrame]
            texts = [e for e in ends if isinstance(e, Document) and e.at_type == DocumentTypes.TextDocument]
            if frames and texts and texts[0].text_value.strip():
                start, end = span(mmif, frames[0])
                cues.append(Cue(start, end, texts[0].text_value.strip()))
    return sorted(cues, key=lambda c: (c.start, c.end))


def captions(mmif: Mmif) -> list[Cue]:
    """Aligned texts when an app wrote any; otherwise the labelled TimeFrames."""
    return aligned_texts(mmif) or [Cue(f.start, f.end, f.label) for f in time_frames(mmif) if f.label]


def timestamp(value: float, separator: str) -> str:
    millis = max(0, round(value * 1000))
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{separator}{millis:03d}"


def one_line_per_cue(text: str) -> str:
    # A blank line ends a cue in both formats, and "-->" starts a timing line in WebVTT.
    return "\n".join(line for line in text.replace("-->", "->").splitlines() if line.strip())


def webvtt(cues: list[Cue]) -> str:
    blocks = ["WEBVTT\n"]
    for cue in cues:
        blocks.append(f"{timestamp(cue.start, '.')} --> {timestamp(cue.end, '.')}\n{one_line_per_cue(cue.text)}\n")
    return "\n".join(blocks)


def srt(cues: list[Cue]) -> str:
    blocks = [
        f"{number}\n{timestamp(cue.start, ',')} --> {timestamp(cue.end, ',')}\n{one_line_per_cue(cue.text)}\n"
        for number, cue in enumerate(cues, start=1)
    ]
    return "\n".join(blocks)


def transcript(mmif: Mmif) -> str:
    """The text the apps wrote: aligned texts in time order, then any other TextDocuments of views in order."""
    aligned = aligned_texts(mmif)
    seen = {cue.text for cue in aligned}
    others = [
        document.text_value.strip()
        for view in mmif.views
        for document in view.get_documents()
        if document.at_type == DocumentTypes.TextDocument and document.text_value.strip() not in seen
    ]
    paragraphs = [cue.text for cue in aligned] + [text for text in others if text]
    return "\n\n".join(paragraphs) + ("\n" if paragraphs else "")


def timeframes_csv(frames: list[Frame]) -> str:
    out = io.StringIO()
    writer = spreadsheets.writer(out)
    writer.writerow(["start", "end", "label", "app"])
    for frame in frames:
        writer.writerow([f"{frame.start:.3f}", f"{frame.end:.3f}", frame.label, frame.app])
    return out.getvalue()
