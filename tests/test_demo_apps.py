"""The demo CLAMS apps segment real WAV audio into sound and silence, summarise the segments, and name the file
they cannot read; served over HTTP exactly as Chowda calls them."""

import itertools
import signal
import struct
import subprocess
import sys
import wave

import pytest
import requests
from mmif import AnnotationTypes, DocumentTypes, Mmif
from mmif.utils.cli.source import generate_source_mmif_from_file

from demo_apps.media import DEMO_MEDIA, expected_sound_spans, write_demo_media, write_demo_wav
from demo_apps.segmenter import merge_short_segments, segment_audio
from demo_apps.serve import serve_in_thread

EDGE_TOLERANCE = 0.06  # seconds, at each edge of a tone burst
PATTERNS = dict(DEMO_MEDIA)


@pytest.fixture(scope="module")
def demo_apps():
    """Both demo apps served on loopback: name -> base URL."""
    served = {name: serve_in_thread(name) for name in ("segmenter", "summarizer")}
    yield {name: url for name, (url, _) in served.items()}
    for _, stop in served.values():
        stop()


@pytest.fixture(scope="module")
def media(tmp_path_factory):
    """The demo media written to a temporary folder: file stem -> path."""
    return {path.stem: path for path in write_demo_media(tmp_path_factory.mktemp("media"))}


def source_mmif(path) -> str:
    return generate_source_mmif_from_file([f"audio/wav:{path}"])


def segment(demo_apps, path, **parameters) -> requests.Response:
    response = requests.post(demo_apps["segmenter"], data=source_mmif(path), params=parameters, timeout=10)
    assert response.status_code == 200, response.text
    return response


def time_frames(response: requests.Response) -> list[tuple[float, float, str]]:
    """The (start s, end s, label) of every TimeFrame in the answer, in time order."""
    frames = [
        (frame.get("start") / 1000, frame.get("end") / 1000, frame.get("label"))
        for view in Mmif(response.text).get_views_contain(AnnotationTypes.TimeFrame)
        for frame in view.get_annotations(AnnotationTypes.TimeFrame)
    ]
    return sorted(frames)


def sound_spans(response: requests.Response) -> list[tuple[float, float]]:
    return [(start, end) for start, end, label in time_frames(response) if label == "sound"]


def assert_spans_match(found, expected):
    assert len(found) == len(expected), f"found {found}, expected {expected}"
    for (start, end), (expected_start, expected_end) in zip(found, expected, strict=True):
        assert start == pytest.approx(expected_start, abs=EDGE_TOLERANCE)
        assert end == pytest.approx(expected_end, abs=EDGE_TOLERANCE)


def summary_text(demo_apps, segmented: requests.Response, **parameters) -> str:
    response = requests.post(demo_apps["summarizer"], data=segmented.text, params=parameters, timeout=10)
    assert response.status_code == 200, response.text
    view = Mmif(response.text).get_view_contains(DocumentTypes.TextDocument)
    [text] = view.get_documents()
    [alignment] = view.get_annotations(AnnotationTypes.Alignment)
    assert (alignment.get("source"), alignment.get("target")) == ("d1", text.id)
    return text.text_value


def write_pcm_wav(path, samples: list[float], *, width: int, channels: int, rate: int = 8000):
    """Write ``samples`` (fractions of full scale, the same on every channel) at any PCM sample width."""
    full_scale = 2 ** (8 * width - 1) - 1
    frames = bytearray()
    for sample in samples:
        value = round(sample * full_scale)
        encoded = bytes([value + 128]) if width == 1 else struct.pack("<i", value)[:width]
        frames += encoded * channels
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(channels)
        wav.setsampwidth(width)
        wav.setframerate(rate)
        wav.writeframes(bytes(frames))


@pytest.mark.parametrize("name", list(PATTERNS))
def test_sound_frames_match_the_tone_bursts_of_every_demo_file(demo_apps, media, name):
    assert_spans_match(sound_spans(segment(demo_apps, media[name])), expected_sound_spans(PATTERNS[name]))


def test_it_finds_tone_edges_that_fall_inside_a_window(demo_apps, tmp_path):
    pattern = [("silence", 0.37), ("tone", 0.73, 500), ("silence", 0.41), ("tone", 0.55, 1200), ("silence", 0.29)]
    path = write_demo_wav(tmp_path / "odd.wav", pattern, sample_rate=22050)
    assert_spans_match(sound_spans(segment(demo_apps, path)), expected_sound_spans(pattern))


def test_silence_frames_fill_the_gaps_between_sounds(demo_apps, media):
    frames = time_frames(segment(demo_apps, media["morse-ok"]))
    assert frames[0][0] == 0
    assert frames[-1][1] == pytest.approx(sum(part[1] for part in PATTERNS["morse-ok"]))
    for (_, end, label), (next_start, _, next_label) in itertools.pairwise(frames):
        assert end == next_start
        assert {label, next_label} == {"sound", "silence"}


def test_time_frames_are_in_milliseconds_on_the_audio_document(demo_apps, media):
    [view] = Mmif(segment(demo_apps, media["beep"]).text).get_views_contain(AnnotationTypes.TimeFrame)
    contains = view.metadata.contains[AnnotationTypes.TimeFrame]
    assert (contains["timeUnit"], contains["document"]) == ("milliseconds", "d1")
    assert view.metadata.app == "http://apps.chowda.example/demo-segmenter/v1"


def test_labels_sound_gives_only_sound_frames(demo_apps, media):
    frames = time_frames(segment(demo_apps, media["two-tones"], labels="sound"))
    assert [label for *_, label in frames] == ["sound", "sound"]


def test_labels_silence_gives_only_silence_frames(demo_apps, media):
    frames = time_frames(segment(demo_apps, media["two-tones"], labels="silence"))
    assert [(start, end) for start, end, _ in frames] == [(1.0, 1.5), (2.3, 3.0)]
    assert {label for *_, label in frames} == {"silence"}


def test_a_threshold_above_the_tones_gives_one_silence(demo_apps, media):
    assert time_frames(segment(demo_apps, media["two-tones"], threshold=0.9)) == [(0.0, 3.0, "silence")]


def test_a_threshold_above_the_tones_gives_no_sound_frames(demo_apps, media):
    assert time_frames(segment(demo_apps, media["two-tones"], threshold=0.9, labels="sound")) == []


def test_min_duration_merges_a_short_blip_and_a_short_gap(demo_apps, tmp_path):
    pattern = [
        ("tone", 1.0, 440),
        ("silence", 0.1),
        ("tone", 1.0, 440),
        ("silence", 0.5),
        ("tone", 0.08, 880),
        ("silence", 0.5),
    ]
    path = write_demo_wav(tmp_path / "blip.wav", pattern)
    assert_spans_match(sound_spans(segment(demo_apps, path)), [(0.0, 2.1)])
    assert_spans_match(sound_spans(segment(demo_apps, path, minDuration=0)), expected_sound_spans(pattern))


def test_short_segments_merge_shortest_first():
    segments = [(0, 1000, "sound"), (1000, 1100, "silence"), (1100, 1150, "sound"), (1150, 3000, "silence")]
    assert merge_short_segments(segments, 200) == [(0, 1000, "sound"), (1000, 3000, "silence")]


@pytest.mark.parametrize(("width", "channels"), [(1, 2), (3, 2), (4, 1)])
def test_it_reads_8_24_and_32_bit_and_stereo_audio(tmp_path, width, channels):
    tone = [0.5 * (-1) ** (i // 4) for i in range(8000)]  # a 1 kHz square wave at 8 kHz, one second
    path = tmp_path / "pcm.wav"
    write_pcm_wav(path, [0.0] * 4000 + tone + [0.0] * 4000, width=width, channels=channels)
    assert segment_audio(str(path), 0.02, 200) == [(0, 500, "silence"), (500, 1500, "sound"), (1500, 2000, "silence")]


def test_summary_counts_and_times_sound_and_silence(demo_apps, media):
    assert summary_text(demo_apps, segment(demo_apps, media["two-tones"])) == (
        "2 stretches of sound totalling 1.8 s and 2 stretches of silence totalling 1.2 s in 3.0 s of audio; "
        "longest sound 1.0 s from 0.0 s to 1.0 s; longest silence 0.7 s from 2.3 s to 3.0 s."
    )


def test_summary_of_sound_frames_only_in_milliseconds(demo_apps, media):
    segmented = segment(demo_apps, media["beep"], labels="sound")
    assert summary_text(demo_apps, segmented, unit="milliseconds") == (
        "1 stretch of sound totalling 1000 ms in 2000 ms of audio; longest sound 1000 ms from 500 ms to 1500 ms."
    )


def test_summary_without_time_frames_says_so(demo_apps, media):
    segmented = segment(demo_apps, media["beep"], labels="sound", threshold=0.9)
    assert summary_text(demo_apps, segmented) == "No time frames in 2.0 s of audio."


@pytest.mark.parametrize("app", ["segmenter", "summarizer"])
def test_an_unreadable_file_gives_http_500_naming_the_file(demo_apps, media, app):
    broken = media["broken"]
    response = requests.post(demo_apps[app], data=source_mmif(broken), timeout=10)
    assert response.status_code == 500
    error = Mmif(response.text).views[-1].metadata.error
    assert f"Cannot read {broken} as WAV audio: file does not start with RIFF id." in error.message


def test_a_missing_file_gives_http_500_naming_the_file(demo_apps, tmp_path):
    missing = tmp_path / "gone.wav"
    response = requests.post(demo_apps["segmenter"], data=source_mmif(missing), timeout=10)
    assert response.status_code == 500
    view = Mmif(response.text).views[-1]
    assert f"Cannot read {missing} as WAV audio: No such file or directory." in view.get_error()


def test_segmenter_metadata_declares_its_parameters(demo_apps):
    metadata = requests.get(demo_apps["segmenter"], timeout=10).json()
    assert metadata["identifier"] == "http://apps.chowda.example/demo-segmenter/v1"
    assert (metadata["app_version"], metadata["app_license"]) == ("v1", "Apache-2.0")
    assert [item["@type"] for item in metadata["input"]] == [str(DocumentTypes.AudioDocument)]
    assert [item["@type"] for item in metadata["output"]] == [str(AnnotationTypes.TimeFrame)]
    parameters = {parameter["name"]: parameter for parameter in metadata["parameters"]}
    assert {name: (parameters[name]["type"], parameters[name]["default"]) for name in ("threshold", "minDuration")} == {
        "threshold": ("number", 0.02),
        "minDuration": ("number", 0.2),
    }
    assert (parameters["labels"]["type"], parameters["labels"]["default"]) == ("string", "both")
    assert parameters["labels"]["choices"] == ["both", "sound", "silence"]


def test_summarizer_metadata_declares_its_parameters(demo_apps):
    metadata = requests.get(demo_apps["summarizer"], timeout=10).json()
    assert metadata["identifier"] == "http://apps.chowda.example/demo-summarizer/v1"
    assert [item["@type"] for item in metadata["input"]] == [
        str(DocumentTypes.AudioDocument),
        str(AnnotationTypes.TimeFrame),
    ]
    assert [item["@type"] for item in metadata["output"]] == [
        str(DocumentTypes.TextDocument),
        str(AnnotationTypes.Alignment),
    ]
    [unit] = [parameter for parameter in metadata["parameters"] if parameter["name"] == "unit"]
    assert (unit["type"], unit["default"], unit["choices"]) == ("string", "seconds", ["seconds", "milliseconds"])


def test_demo_media_are_two_to_eight_seconds_of_wav_plus_one_broken_file(tmp_path):
    paths = write_demo_media(tmp_path / "new")
    assert [path.name for path in paths] == [f"{name}.wav" for name in PATTERNS] + ["broken.wav"]
    for path in paths[:-1]:
        with wave.open(str(path)) as wav:
            assert (wav.getnchannels(), wav.getsampwidth()) == (1, 2)
            assert 2 <= wav.getnframes() / wav.getframerate() <= 8
    assert paths[-1].read_text() == "this is not audio\n"


def test_serve_command_prints_its_url_and_stops_on_sigterm():
    command = [sys.executable, "-m", "demo_apps.serve", "summarizer", "--port", "0"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as server:
        try:
            line = server.stdout.readline().strip()
            assert line.startswith("listening on http://127.0.0.1:")
            url = line.removeprefix("listening on ")
            assert requests.get(url, timeout=10).json()["name"] == "Demo Time Frame Summarizer"
            server.send_signal(signal.SIGTERM)
            assert server.wait(timeout=10) == 0
        finally:
            server.kill()
