"""A CLAMS app that splits WAV audio into stretches of sound and silence by signal energy."""

import array
import heapq
import math
import sys
import wave
from collections.abc import Iterator
from contextlib import contextmanager

from clams.app import ClamsApp
from clams.appmetadata import AppMetadata
from mmif import AnnotationTypes, DocumentTypes, Mmif
from pydantic import AnyHttpUrl

WINDOW_SECONDS = 0.02
LABELS = ["sound", "silence"]

# Sample width in bytes -> array typecode, full scale, and offset (8-bit WAV samples are unsigned).
# 24-bit samples are widened to 32 bits before they are read.
SAMPLE_FORMATS = {1: ("B", 128, 128), 2: ("h", 32768, 0), 3: ("i", 2**31, 0), 4: ("i", 2**31, 0)}

Segment = tuple[int, int, str]  # start and end in milliseconds, label


@contextmanager
def open_wav(path: str) -> Iterator[wave.Wave_read]:
    """Open a PCM WAV file for reading, as a context manager.

    Raises ``ValueError`` naming the file when it is missing, unreadable (on opening or while read inside the
    ``with`` block), not PCM WAV audio, or has a sample width other than 8, 16, 24 or 32 bits.
    """
    try:
        with wave.open(path, "rb") as wav:
            if wav.getsampwidth() not in SAMPLE_FORMATS:
                raise ValueError(f"Cannot read {path} as WAV audio: it has {8 * wav.getsampwidth()}-bit samples.")
            yield wav
    except OSError as error:
        raise ValueError(f"Cannot read {path} as WAV audio: {error.strerror or error}.") from error
    except (wave.Error, EOFError) as error:
        raise ValueError(f"Cannot read {path} as WAV audio: {error or 'the file ends early'}.") from error


def window_levels(wav: wave.Wave_read) -> Iterator[tuple[int, int, float]]:
    """Yield (start ms, end ms, RMS relative to full scale) for each 20 ms window, all channels mixed.

    The last window may be shorter; a truncated data chunk ends the audio where the bytes end.
    """
    width, channels, rate = wav.getsampwidth(), wav.getnchannels(), wav.getframerate()
    typecode, full_scale, offset = SAMPLE_FORMATS[width]
    window = max(1, round(rate * WINDOW_SECONDS))
    position = 0
    while chunk := wav.readframes(window):
        frames = len(chunk) // (width * channels)
        if frames == 0:
            return
        chunk = chunk[: frames * width * channels]
        if width == 3:
            padded = bytearray(frames * channels * 4)
            for byte in range(3):
                padded[byte + 1 :: 4] = chunk[byte::3]
            chunk = padded
        samples = array.array(typecode, chunk)
        if sys.byteorder == "big":
            samples.byteswap()
        power = sum((sample - offset) ** 2 for sample in samples) / len(samples)
        yield round(position * 1000 / rate), round((position + frames) * 1000 / rate), math.sqrt(power) / full_scale
        position += frames


def merge_short_segments(segments: list[Segment], min_ms: int) -> list[Segment]:
    """Merge every segment shorter than ``min_ms`` into its neighbours, shortest first, until none is left or one
    segment covers everything. ``segments`` must be back to back, alternate between two labels, and last > 0 ms."""
    ends = {start: end for start, end, _ in segments}
    labels = {start: label for start, _, label in segments}
    starts = {end: start for start, end, _ in segments}
    queue = [(end - start, start) for start, end, _ in segments if end - start < min_ms]
    heapq.heapify(queue)
    while queue and len(ends) > 1:
        length, start = heapq.heappop(queue)
        if ends.get(start, start) - start != length:
            continue  # merged away, or grown since it was queued
        end = ends[start]
        # Both neighbours carry the other label; the segment and its neighbours become one.
        label = labels[starts[start]] if start in starts else labels[end]
        merged_start, merged_end = starts.get(start, start), ends.get(end, end)
        for key in (start, end):
            ends.pop(key, None)
            labels.pop(key, None)
            starts.pop(key, None)
        ends[merged_start], labels[merged_start], starts[merged_end] = merged_end, label, merged_start
        if merged_end - merged_start < min_ms:
            heapq.heappush(queue, (merged_end - merged_start, merged_start))
    return sorted((start, end, labels[start]) for start, end in ends.items())


def segment_audio(path: str, threshold: float, min_ms: int) -> list[Segment]:
    """Split a WAV file into back-to-back (start ms, end ms, "sound" or "silence") segments covering all of it.

    A 20 ms window is sound when its RMS, relative to full scale, reaches ``threshold``; segments shorter than
    ``min_ms`` are merged into their neighbours. Raises ``ValueError`` naming the file when it cannot be read.
    """
    segments: list[Segment] = []
    with open_wav(path) as wav:
        for start, end, level in window_levels(wav):
            label = "sound" if level >= threshold else "silence"
            if segments and segments[-1][2] == label:
                segments[-1] = (segments[-1][0], end, label)
            else:
                segments.append((start, end, label))
    return merge_short_segments(segments, min_ms)


def appmetadata() -> AppMetadata:
    """The app's metadata, as the CLAMS app template's metadata.py gives it (demo_apps/jobs/segmenter/metadata.py)."""
    metadata = AppMetadata(
        name="Demo Audio Segmenter",
        description=(
            "Splits WAV audio into stretches of sound and silence by the RMS energy of 20 ms windows. "
            "Needs no model: a demo of a real CLAMS app for Chowda."
        ),
        app_license="Apache-2.0",
        identifier="http://apps.chowda.example/demo-segmenter",
        url="http://apps.chowda.example/demo-segmenter",
        app_version="v1",
    )
    # clams-python suffixes the identifier with a version taken from git when the running script sits in a
    # checkout (manage.py does), or from CLAMS_APP_VERSION; pin it to app_version instead.
    metadata.identifier = AnyHttpUrl(f"http://apps.chowda.example/demo-segmenter/{metadata.app_version}")
    metadata.add_input(DocumentTypes.AudioDocument)
    metadata.add_output(AnnotationTypes.TimeFrame, timeUnit="milliseconds", labelset=LABELS)
    metadata.add_parameter(
        name="threshold",
        type="number",
        default=0.02,
        description="RMS energy, relative to full scale (0 to 1), from which a 20 ms window counts as sound.",
    )
    metadata.add_parameter(
        name="minDuration",
        type="number",
        default=0.2,
        description="Seconds: shorter stretches of sound or silence are merged into their neighbours.",
    )
    metadata.add_parameter(
        name="labels",
        type="string",
        default="both",
        choices=["both", *LABELS],
        description="Which TimeFrames to add: sound, silence, or both.",
    )
    return metadata


class Segmenter(ClamsApp):
    """Adds, for each AudioDocument, a view of TimeFrames labelled "sound" or "silence"."""

    def _appmetadata(self) -> AppMetadata:
        return appmetadata()

    def _annotate(self, mmif: Mmif, **parameters) -> Mmif:
        documents = mmif.get_documents_by_type(DocumentTypes.AudioDocument)
        if not documents:
            raise ValueError("The MMIF has no AudioDocument to segment.")
        for document in documents:
            path = document.location_path(nonexist_ok=True)
            if not path:
                raise ValueError(f"AudioDocument {document.id} has no location to read.")
            segments = segment_audio(path, parameters["threshold"], round(parameters["minDuration"] * 1000))
            view = mmif.new_view()
            self.sign_view(view, parameters)
            view.new_contain(AnnotationTypes.TimeFrame, document=document.id, timeUnit="milliseconds", labelset=LABELS)
            for start, end, label in segments:
                if parameters["labels"] in ("both", label):
                    view.new_annotation(AnnotationTypes.TimeFrame, start=start, end=end, label=label)
        return mmif
