"""Captions, a transcript and a CSV of time frames, written from what the demo apps really answer; a WebVTT
parser reads the captions as a player would."""

import csv
import io

import pytest
import requests
import webvtt
from mmif import AnnotationTypes, Mmif, View
from mmif.utils.cli.source import generate_source_mmif_from_file

from deliverables.formats import FormatError, deliverable_text
from tests.deliverables_helpers import demo_apps, demo_media  # noqa: F401  (fixtures)


@pytest.fixture(scope="module")
def summarised(demo_apps, demo_media):  # noqa: F811
    """two-tones.wav segmented, then summarised, by the demo apps over HTTP."""
    source = generate_source_mmif_from_file([f"audio/wav:{demo_media['two-tones']}"])
    segmented = requests.post(demo_apps["segmenter"], data=source, timeout=10)
    summarised = requests.post(demo_apps["summarizer"], data=segmented.text, timeout=10)
    assert summarised.status_code == 200, summarised.text
    return summarised.text


def test_webvtt_captions_of_the_segments_read_back_in_a_webvtt_parser(summarised):
    captions = webvtt.from_buffer(io.StringIO(deliverable_text("vtt", summarised)))

    cues = [(cue.start, cue.end, cue.text) for cue in captions]
    assert [text for _, _, text in cues] == ["sound", "silence", "sound", "silence"]
    assert cues[0][:2] == ("00:00:00.000", "00:00:01.000")
    assert cues[2][0] == "00:00:01.500"


def test_srt_captions_number_each_cue_and_use_commas_before_milliseconds(summarised):
    srt = deliverable_text("srt", summarised)

    assert srt.startswith("1\n00:00:00,000 --> 00:00:01,000\nsound\n\n2\n")
    assert srt.count(" --> ") == 4


def test_the_transcript_is_the_summarizers_text(summarised):
    transcript = deliverable_text("transcript", summarised)

    assert transcript.startswith("2 stretches of sound totalling 1.8 s")


def test_the_time_frame_csv_has_start_end_label_and_app_in_seconds(summarised):
    rows = list(csv.DictReader(io.StringIO(deliverable_text("timeframes", summarised))))

    assert [(r["start"], r["end"], r["label"]) for r in rows[:2]] == [
        ("0.000", "1.000", "sound"),
        ("1.000", "1.500", "silence"),
    ]
    assert {r["app"] for r in rows} == {"http://apps.chowda.example/demo-segmenter/v1"}


def transcript_mmif(time_unit: str, start, end, **document_properties) -> str:
    """A transcriber's answer: a TimeFrame and a TextDocument, aligned, built with mmif-python."""
    mmif = Mmif(generate_source_mmif_from_file(["video/mp4:/media/news.mp4"]))
    for key, value in document_properties.items():
        mmif.documents[0].add_property(key, value)
    view: View = mmif.new_view()
    view.metadata.app = "http://apps.clams.ai/whisper-wrapper/v1"
    view.new_contain(AnnotationTypes.TimeFrame, timeUnit=time_unit, document="d1")
    frame = view.new_annotation(AnnotationTypes.TimeFrame, start=start, end=end)
    text = view.new_textdocument("Good evening.\n\nHere is the news --> today.")
    view.new_annotation(AnnotationTypes.Alignment, source=frame.id, target=text.id)
    return mmif.serialize()


def test_captions_come_from_text_aligned_to_time_frames_in_the_views_time_unit():
    vtt = deliverable_text("vtt", transcript_mmif("seconds", 61.5, 63.25))

    [cue] = webvtt.from_buffer(io.StringIO(vtt))
    assert (cue.start, cue.end) == ("00:01:01.500", "00:01:03.250")
    assert cue.text == "Good evening.\nHere is the news -> today."


def test_frames_are_turned_into_seconds_with_the_videos_frame_rate():
    csv_text = deliverable_text("timeframes", transcript_mmif("frames", 30, 90, fps=30))

    assert csv_text.splitlines()[1].startswith("1.000,3.000,")


def test_frames_without_a_frame_rate_are_refused_with_a_sentence():
    with pytest.raises(FormatError, match=r"counts time in 'frames'.*milliseconds or seconds"):
        deliverable_text("srt", transcript_mmif("frames", 30, 90))


def test_a_mmif_that_is_not_valid_is_refused_with_a_sentence():
    with pytest.raises(FormatError, match="The MMIF is not valid"):
        deliverable_text("vtt", '{"documents": []}')


def test_text_documents_of_the_views_form_the_transcript_when_none_is_aligned():
    mmif = Mmif(generate_source_mmif_from_file(["audio/wav:/media/a.wav"]))
    for number, text in enumerate(["First paragraph.", "Second paragraph."]):
        view = mmif.new_view()
        view.metadata.app = f"http://apps.clams.ai/summary-{number}/v1"
        view.new_textdocument(text)

    assert deliverable_text("transcript", mmif.serialize()) == "First paragraph.\n\nSecond paragraph.\n"
