"""No cell of a CSV that Chowda hands out runs as a spreadsheet formula; numbers stay numbers."""

import csv
import io

import pytest
from mmif import AnnotationTypes, Mmif
from mmif.utils.cli.source import generate_source_mmif_from_file

from chowda_site import spreadsheets
from deliverables.formats import deliverable_text
from reports.batch_report import csv_chunks
from runs.models import Run
from tests.report_helpers import batch_with_runs

HOSTILE = ['=HYPERLINK("http://evil.test","click")', "+1+cmd|' /C calc'!A0", "@SUM(1+1)", "-2+3", "\t=1", "\r=1"]


def labelled_frames(labels) -> str:
    """An app's answer whose TimeFrames carry these labels, built with mmif-python."""
    mmif = Mmif(generate_source_mmif_from_file(["video/mp4:/media/news.mp4"]))
    view = mmif.new_view()
    view.metadata.app = "http://apps.clams.ai/slate-detector/v1"
    view.new_contain(AnnotationTypes.TimeFrame, timeUnit="seconds", document="d1")
    for n, label in enumerate(labels):
        view.new_annotation(AnnotationTypes.TimeFrame, start=n, end=n + 1, label=label)
    return mmif.serialize()


def test_the_time_frame_csv_writes_an_apps_formula_labels_as_text():
    rows = list(csv.DictReader(io.StringIO(deliverable_text("timeframes", labelled_frames([*HOSTILE, "slate"])))))

    assert [row["label"] for row in rows] == [f"'{label}" for label in HOSTILE] + ["slate"]
    assert [row["start"] for row in rows] == [f"{n}.000" for n in range(len(HOSTILE) + 1)]


@pytest.mark.django_db
def test_the_batch_report_writes_text_that_could_start_a_formula_as_text():
    batch = batch_with_runs(2, steps=1)
    Run.objects.filter(batch=batch).update(error='=HYPERLINK("http://evil.test")')

    rows = list(csv.DictReader(io.StringIO("".join(csv_chunks(batch)))))

    assert {row["error"] for row in rows} == {'\'=HYPERLINK("http://evil.test")'}


@pytest.mark.parametrize("number", ["-1.5", "-3", "+2", "12.300", "-0.000"])
def test_numbers_are_left_as_they_are(number):
    assert spreadsheets.cell(number) == number
