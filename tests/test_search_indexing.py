"""What a step's indexing reads from its MMIF (texts with the time their alignments give, labels in seconds, only
the views the step added) and how it is asked for: a succeeded step records a background job and nothing more; a
finished run asks for the steps a retry copied; a job whose step was deleted does nothing."""

import pytest
from django.utils import timezone

from background.models import BackgroundJob
from runs.models import Status, StepRun
from runs.signals import run_finished, step_succeeded
from search.indexing import KIND, index_job, step_index
from search.models import Finding, IndexedStep
from tests.factories import RunFactory, StepRunFactory
from tests.findings_helpers import ALIGNMENT, TEXT_DOCUMENT, TIME_FRAME, VIDEO_DOCUMENT, document, store_mmif, view
from tests.search_helpers import TIME_POINT, indexed_step

pytestmark = pytest.mark.django_db
TOKEN = "http://vocab.lappsgrid.org/Token"


def step_with(views, new_views, documents=None, **fields) -> StepRun:
    name = store_mmif("mmif/indexing.mmif", views, documents)
    run = RunFactory(status=Status.SUCCEEDED, final_mmif=name)
    return StepRunFactory(
        run=run,
        position=2,
        app_name="ocr",
        status=Status.SUCCEEDED,
        output_mmif=name,
        finished_at=timezone.now(),
        summary={"views": [{"id": v} for v in new_views]},
        **fields,
    )


def test_ocr_text_takes_the_time_of_the_timepoint_it_is_aligned_to_in_the_view_before():
    sampler = view(
        "v_0",
        "http://apps.clams.ai/swt-detection/v7",
        [{"@type": TIME_POINT, "properties": {"id": "tp_1", "timePoint": 300, "label": "chyron"}}],
        contains={TIME_POINT: {"timeUnit": "frames", "document": "d1"}},
    )
    ocr = view(
        "v_1",
        "http://apps.clams.ai/doctr-wrapper/v1.2",
        [
            {"@type": TEXT_DOCUMENT, "properties": {"id": "td_1", "text": {"@value": "SELMA, ALABAMA"}}},
            {"@type": ALIGNMENT, "properties": {"id": "al_1", "source": "v_0:tp_1", "target": "td_1"}},
        ],
    )
    step = step_with([sampler, ocr], ["v_1"], [document(VIDEO_DOCUMENT, fps=30.0)])

    assert step_index(step).findings == 1  # the sampler's chyron belongs to the step that added it
    found = Finding.objects.get()
    assert (found.kind, found.text, found.start, found.end) == ("text", "SELMA, ALABAMA", 10.0, 10.0)
    assert (found.view_id, found.app_version, found.app) == ("v_1", "v1.2", "ocr")


def test_a_transcript_takes_the_span_of_its_tokens_time_frames():
    asr = view(
        "v_0",
        "http://apps.clams.ai/whisper-wrapper/v10",
        [
            {"@type": TEXT_DOCUMENT, "properties": {"id": "td_1", "text": {"@value": "Good evening Selma"}}},
            {"@type": TOKEN, "properties": {"id": "t_1", "document": "td_1", "word": "Good"}},
            {"@type": TOKEN, "properties": {"id": "t_2", "document": "td_1", "word": "Selma"}},
            {"@type": TIME_FRAME, "properties": {"id": "tf_1", "start": 1.5, "end": 2.0}},
            {"@type": TIME_FRAME, "properties": {"id": "tf_2", "start": 3.0, "end": 3.5}},
            {"@type": ALIGNMENT, "properties": {"id": "al_1", "source": "tf_1", "target": "t_1"}},
            {"@type": ALIGNMENT, "properties": {"id": "al_2", "source": "tf_2", "target": "t_2"}},
        ],
        contains={TIME_FRAME: {"timeUnit": "seconds"}},
    )

    step_index(step_with([asr], ["v_0"]))

    assert list(Finding.objects.values_list("kind", "start", "end")) == [("text", 1.5, 3.5)]


def test_indexing_twice_writes_once():
    step = indexed_step(lines=[(0, 1000, "Selma.")], frames=[(0, 10, "slate")])

    assert step_index(step).findings == 2
    assert Finding.objects.count() == 2 and IndexedStep.objects.count() == 1


def test_a_succeeded_step_only_records_a_background_job_and_the_job_indexes_it():
    step = indexed_step(lines=[(0, 1000, "Selma.")])
    IndexedStep.objects.all().delete()
    Finding.objects.all().delete()

    step_succeeded.send(sender=StepRun, step_id=step.pk, run_id=step.run_id)
    step_succeeded.send(sender=StepRun, step_id=step.pk, run_id=step.run_id)  # sent again: still one job

    job = BackgroundJob.objects.get(kind=KIND)
    assert (job.target, Finding.objects.count()) == (step.pk, 0)
    index_job(job)
    assert Finding.objects.count() == 1


def test_a_finished_run_asks_for_the_steps_its_retry_copied():
    step = indexed_step(lines=[(0, 1000, "Selma.")])
    copied = StepRunFactory(
        run=step.run,
        position=2,
        status=Status.SUCCEEDED,
        output_mmif=step.output_mmif.name,
        summary=step.summary,
        finished_at=timezone.now(),
    )

    run_finished.send(sender=StepRun, batch_id=step.run.batch_id, run_id=step.run_id)
    run_finished.send(sender=StepRun, batch_id=step.run.batch_id)  # a cancel's, for the batch: nothing to do

    assert list(BackgroundJob.objects.filter(kind=KIND).values_list("target", flat=True)) == [copied.pk]


def test_a_job_whose_step_was_deleted_does_nothing():
    step = indexed_step(lines=[(0, 1000, "Selma.")])
    job = BackgroundJob.objects.create(kind=KIND, target=step.pk)
    step.run.batch.delete()

    index_job(job)

    assert not Finding.objects.exists() and not IndexedStep.objects.exists()
