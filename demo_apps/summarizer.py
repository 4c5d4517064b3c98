"""A CLAMS app that writes one sentence summing up the TimeFrames found in each AudioDocument."""

from clams.app import ClamsApp
from clams.appmetadata import AppMetadata
from mmif import AnnotationTypes, Document, DocumentTypes, Mmif
from pydantic import AnyHttpUrl

from demo_apps.segmenter import open_wav

Frame = tuple[int, int, str]  # start and end in milliseconds, label
UNITS = ["seconds", "milliseconds"]
MILLISECONDS_PER_TIME_UNIT = {"milliseconds": 1, "seconds": 1000}


def format_time(milliseconds: int, unit: str) -> str:
    """Render a time as "1.5 s" (``unit`` "seconds") or "1500 ms" (``unit`` "milliseconds")."""
    return f"{milliseconds / 1000:.1f} s" if unit == "seconds" else f"{milliseconds} ms"


def describe_frames(frames: list[Frame], audio_ms: int, unit: str) -> str:
    """One English sentence counting and timing the frames of each label, in order of first appearance, e.g.
    "2 stretches of sound totalling 1.8 s and 1 stretch of silence totalling 0.5 s in 3.0 s of audio;
    longest sound 1.0 s from 0.0 s to 1.0 s; longest silence 0.5 s from 1.0 s to 1.5 s."
    """
    if not frames:
        return f"No time frames in {format_time(audio_ms, unit)} of audio."
    by_label: dict[str, list[Frame]] = {}
    for frame in sorted(frames):
        by_label.setdefault(frame[2], []).append(frame)
    counts, longest = [], []
    for label, labelled in by_label.items():
        stretches = "stretch" if len(labelled) == 1 else "stretches"
        total = sum(end - start for start, end, _ in labelled)
        counts.append(f"{len(labelled)} {stretches} of {label} totalling {format_time(total, unit)}")
        start, end, _ = max(labelled, key=lambda frame: frame[1] - frame[0])
        longest.append(
            f"longest {label} {format_time(end - start, unit)} "
            f"from {format_time(start, unit)} to {format_time(end, unit)}"
        )
    return f"{' and '.join(counts)} in {format_time(audio_ms, unit)} of audio; {'; '.join(longest)}."


def frames_on(mmif: Mmif, document: Document) -> list[Frame]:
    """The TimeFrames on ``document`` in the latest view that has any, in milliseconds.

    Raises ``ValueError`` when a view counts time in something other than seconds or milliseconds.
    """
    for view in reversed(mmif.get_views_contain(AnnotationTypes.TimeFrame)):
        annotations = list(view.get_annotations(AnnotationTypes.TimeFrame, document=document.id))
        if annotations:
            break
    else:
        return []
    frames = []
    for frame in annotations:
        time_unit = frame.get("timeUnit", "milliseconds")
        if time_unit not in MILLISECONDS_PER_TIME_UNIT:
            raise ValueError(
                f"Time frame {frame.id} counts time in {time_unit}; this app reads only seconds and milliseconds."
            )
        scale = MILLISECONDS_PER_TIME_UNIT[time_unit]
        label = frame.get("label", "unlabelled time")
        frames.append((round(frame.get("start") * scale), round(frame.get("end") * scale), label))
    return frames


def summarise_document(mmif: Mmif, document: Document, unit: str) -> str:
    """Describe the TimeFrames on an AudioDocument against the length of its WAV file.

    Raises ``ValueError`` naming the file when it cannot be read as WAV audio.
    """
    path = document.location_path(nonexist_ok=True)
    if not path:
        raise ValueError(f"AudioDocument {document.id} has no location to read its duration from.")
    with open_wav(path) as wav:
        audio_ms = round(wav.getnframes() * 1000 / wav.getframerate())
    return describe_frames(frames_on(mmif, document), audio_ms, unit)


def appmetadata() -> AppMetadata:
    """The app's metadata, as the CLAMS app template's metadata.py gives it (demo_apps/jobs/summarizer/metadata.py)."""
    metadata = AppMetadata(
        name="Demo Time Frame Summarizer",
        description=(
            "Writes one English sentence per audio document counting and timing its time frames by label "
            "(e.g. sound and silence from the demo segmenter). A demo of a real CLAMS app for Chowda."
        ),
        app_license="Apache-2.0",
        identifier="http://apps.chowda.example/demo-summarizer",
        url="http://apps.chowda.example/demo-summarizer",
        app_version="v1",
    )
    # clams-python suffixes the identifier with a version taken from git when the running script sits in a
    # checkout (manage.py does), or from CLAMS_APP_VERSION; pin it to app_version instead.
    metadata.identifier = AnyHttpUrl(f"http://apps.chowda.example/demo-summarizer/{metadata.app_version}")
    metadata.add_input(DocumentTypes.AudioDocument)
    metadata.add_input(AnnotationTypes.TimeFrame)
    metadata.add_output(DocumentTypes.TextDocument)
    metadata.add_output(AnnotationTypes.Alignment)
    metadata.add_parameter(
        name="unit",
        type="string",
        default="seconds",
        choices=UNITS,
        description="Unit of the times in the summary: seconds (one decimal) or milliseconds.",
    )
    return metadata


class Summarizer(ClamsApp):
    """Adds a view with, for each AudioDocument, a TextDocument summing up its TimeFrames and an Alignment
    between the two. It reads the TimeFrames of the latest view that has some on that document."""

    def _appmetadata(self) -> AppMetadata:
        return appmetadata()

    def _annotate(self, mmif: Mmif, **parameters) -> Mmif:
        documents = mmif.get_documents_by_type(DocumentTypes.AudioDocument)
        if not documents:
            raise ValueError("The MMIF has no AudioDocument to summarise.")
        summaries = [(document, summarise_document(mmif, document, parameters["unit"])) for document in documents]
        view = mmif.new_view()
        self.sign_view(view, parameters)
        view.new_contain(DocumentTypes.TextDocument)
        view.new_contain(AnnotationTypes.Alignment)
        for document, summary in summaries:
            text = view.new_textdocument(summary, lang="en")
            view.new_annotation(AnnotationTypes.Alignment, source=document.id, target=text.id)
        return mmif
