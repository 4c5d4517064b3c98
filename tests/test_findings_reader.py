"""The viewer reads a stored MMIF as a stream: views summarised in one pass, annotations a page at a time."""

import io
import tracemalloc

import pytest

from findings.reader import (
    MAX_BARS,
    MAX_LABELS,
    OTHER_LABELS,
    MmifReadError,
    annotation_page,
    short_type,
    summarise,
    time_unit,
)
from findings.tables import RowMaker
from tests.findings_helpers import (
    ALIGNMENT,
    TEXT_DOCUMENT,
    TIME_FRAME,
    VIDEO_DOCUMENT,
    document,
    mmif_text,
    time_frames,
    view,
)

SEGMENTER = "http://apps.chowda.example/demo-segmenter/v1"


def stream(views, documents=None) -> io.BytesIO:
    return io.BytesIO("".join(mmif_text(views, documents)).encode())


def read_page(views, view_id, offset, limit, kind=None, documents=None) -> list[dict]:
    """A page read as the viewer reads it: with the views' totals from the summary. The views' annotations
    must be lists, since the MMIF is written twice."""
    summary = summarise(stream(views, documents))
    return annotation_page(stream(views, documents), summary["views"], view_id, offset, limit, kind)


def frame(view_id, n, start, end, **properties):
    return {"@type": TIME_FRAME, "properties": {"id": f"{view_id}:tf_{n}", "start": start, "end": end, **properties}}


def test_it_names_types_and_units_the_way_a_curator_reads_them():
    assert short_type(TIME_FRAME) == "TimeFrame"
    assert short_type("http://mmif.clams.ai/vocabulary/Annotation") == "Annotation"
    assert [time_unit(u) for u in ("ms", "milliseconds", "seconds", "s", "frames", "frame")] == [
        "milliseconds",
        "milliseconds",
        "seconds",
        "seconds",
        "frames",
        "frames",
    ]


def test_it_summarises_each_view_with_app_parameters_counts_labels_and_warnings():
    views = [
        view(
            "v_0",
            SEGMENTER,
            time_frames("v_0", 4),
            {TIME_FRAME: {"timeUnit": "milliseconds", "document": "d1"}},
            appConfiguration={"threshold": 0.02},
        ),
        view("v_1", "http://apps.example/noisy/v2", [], warnings=["Unknown parameter 'foo' ignored."]),
        view(
            "v_2",
            "http://apps.example/broken/v3",
            [],
            error={"message": "CUDA out of memory", "stackTrace": "Traceback ..."},
        ),
    ]

    summary = summarise(stream(views))

    first, second, third = summary["views"]
    assert (first["id"], first["app"]) == ("v_0", SEGMENTER)
    assert first["parameters"] == {"threshold": 0.02}
    assert first["counts"] == {"TimeFrame": 4}
    assert first["labels"] == {"TimeFrame": {"sound": 2, "silence": 2}}
    assert first["bars"] == [[0.0, 1.0, 0], [1.0, 2.0, 1], [2.0, 3.0, 0], [3.0, 4.0, 1]]
    assert first["bar_labels"] == ["sound", "silence"]
    assert second["warnings"] == ["Unknown parameter 'foo' ignored."]
    assert third["error"] == {"message": "CUDA out of memory", "stack_trace": "Traceback ..."}
    assert summary["duration"] == 4.0


@pytest.mark.parametrize(
    ("contains", "documents", "start", "end"),
    [
        ({"timeUnit": "seconds"}, None, 1.5, 3.0),
        ({"timeUnit": "milliseconds"}, None, 0.0015, 0.003),
        ({"timeUnit": "frames", "document": "d1"}, [document(VIDEO_DOCUMENT, fps=30)], 0.05, 0.1),
        ({"timeUnit": "frames", "fps": 10}, None, 0.15, 0.3),
        ({}, None, 1.5, 3.0),  # MMIF's default unit
    ],
)
def test_times_follow_the_units_of_the_view_and_the_frame_rate_of_the_document(contains, documents, start, end):
    views = [view("v_0", SEGMENTER, [frame("v_0", 1, 1.5, 3)], {TIME_FRAME: contains})]

    summary = summarise(stream(views, documents))
    [row] = RowMaker(summary["views"][0], summary["frame_rates"], summary["documents"]).rows(
        read_page(views, "v_0", 0, 10, documents=documents)
    )

    assert summary["views"][0]["bars"] == [[pytest.approx(start), pytest.approx(end), 0]]
    assert (row["start"], row["end"]) == (pytest.approx(start), pytest.approx(end))


def test_frames_without_a_frame_rate_have_no_times_rather_than_wrong_ones():
    views = [view("v_0", SEGMENTER, [frame("v_0", 1, 15, 30, label="bars")], {TIME_FRAME: {"timeUnit": "frames"}})]

    summary = summarise(stream(views))
    [row] = RowMaker(summary["views"][0], {}, []).rows(read_page(views, "v_0", 0, 10))

    assert "bars" not in summary["views"][0]
    assert summary["views"][0]["counts"] == {"TimeFrame": 1}
    assert (row["start"], row["end"], row["label"]) == (None, None, "bars")


def test_a_page_is_read_from_its_own_view_only_and_stops_at_its_last_annotation():
    views = [
        view("v_0", SEGMENTER, list(time_frames("v_0", 30))),
        view("v_1", SEGMENTER, list(time_frames("v_1", 30))),
        view("v_2", SEGMENTER, list(time_frames("v_2", 30))),
    ]

    page = read_page(views, "v_1", 10, 5)

    assert [a["properties"]["id"] for a in page] == [f"v_1:tf_{n}" for n in range(11, 16)]
    assert [a["properties"]["id"] for a in read_page(views, "v_1", 28, 5)] == ["v_1:tf_29", "v_1:tf_30"]
    assert read_page(views, "v_1", 30, 5) == []
    assert read_page(views, "v_9", 0, 5) == []


def test_a_page_of_one_type_skips_the_others():
    text = {"@type": TEXT_DOCUMENT, "properties": {"id": "v_1:td_1", "text": {"@value": "Two tones."}}}
    pair = {"@type": ALIGNMENT, "properties": {"id": "v_1:a_1", "source": "d1", "target": "v_1:td_1"}}
    views = [view("v_1", "http://apps.example/summarizer/v1", [text, pair, dict(text), dict(pair)])]

    page = read_page(views, "v_1", 1, 5, kind="Alignment")

    assert [a["@type"] for a in page] == [ALIGNMENT]


def test_text_documents_and_alignments_read_as_text_and_as_the_pair_they_align():
    long_text = "word " * 100
    text = {"@type": TEXT_DOCUMENT, "properties": {"id": "v_1:td_1", "text": {"@value": long_text}}}
    pair = {"@type": ALIGNMENT, "properties": {"id": "v_1:a_1", "source": "d1", "target": "v_1:td_1"}}
    other = {"@type": "http://vocab.example/Thing/v1", "properties": {"id": "v_1:x_1", "colour": "red"}}
    views = [view("v_1", "http://apps.example/summarizer/v1", [text, pair, other])]
    summary = summarise(stream(views))

    rows = RowMaker(summary["views"][0], {}, summary["documents"]).rows(read_page(views, "v_1", 0, 5))

    assert rows[0]["text"] == long_text and rows[0]["truncated"] and len(rows[0]["preview"]) == 300
    assert rows[1]["source_text"] == "AudioDocument d1"
    assert rows[1]["target_text"].startswith("“word word")
    assert rows[2]["properties"] == {"colour": "red"}


def test_a_view_of_many_time_frames_keeps_its_timeline_small():
    views = [view("v_0", SEGMENTER, time_frames("v_0", 20_000), {TIME_FRAME: {"timeUnit": "milliseconds"}})]

    summary = summarise(stream(views))

    lane = summary["views"][0]
    assert lane["counts"] == {"TimeFrame": 20_000}
    assert lane["merged"] is True
    assert len(lane["bars"]) <= MAX_BARS
    assert {bar[2] for bar in lane["bars"]} == {0, 1}
    assert min(bar[0] for bar in lane["bars"]) == 0.0
    assert max(bar[1] for bar in lane["bars"]) == pytest.approx(20_000.0)


def test_it_says_when_the_stored_file_is_not_json():
    with pytest.raises(MmifReadError, match="not valid JSON"):
        summarise(io.BytesIO(b'{"documents": [ {"@type": '))


def test_a_view_with_a_label_per_frame_keeps_fifty_labels_and_counts_the_rest_together():
    views = [view("v_0", SEGMENTER, time_frames("v_0", 500, labels=[f"speaker {n}" for n in range(500)]))]

    lane = summarise(stream(views))["views"][0]

    assert len(lane["labels"]["TimeFrame"]) == MAX_LABELS + 1
    assert lane["labels"]["TimeFrame"][OTHER_LABELS] == 500 - MAX_LABELS
    assert len(lane["bar_labels"]) == MAX_LABELS + 1


def test_summarising_a_large_mmif_takes_a_small_part_of_its_size_in_memory():
    text = stream([view("v_0", SEGMENTER, time_frames("v_0", 50_000), {TIME_FRAME: {"timeUnit": "milliseconds"}})])
    size = len(text.getbuffer())

    tracemalloc.start()
    try:
        summary = summarise(text)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert summary["views"][0]["counts"] == {"TimeFrame": 50_000}
    assert peak < size / 3, f"{peak} bytes at the peak for a MMIF of {size} bytes"
