"""Steps whose stored MMIF hold what the search tests look for, indexed as a background job would index them."""

import itertools

from django.utils import timezone

from runs.models import Status
from search.indexing import step_index
from tests.factories import BatchFactory, MediaFileFactory, RunFactory, StepRunFactory
from tests.findings_helpers import ALIGNMENT, TEXT_DOCUMENT, TIME_FRAME, store_mmif, view

TIME_POINT = "http://clams.ai/vocabulary/type/TimePoint/v4"
_names = itertools.count(1)


def transcript(view_id: str, lines: list[tuple[int, int, str]]) -> list[dict]:
    """An ASR-like view: per line a TimeFrame (milliseconds), a TextDocument, and an Alignment between them."""
    annotations = []
    for n, (start, end, text) in enumerate(lines, 1):
        annotations += [
            {"@type": TIME_FRAME, "properties": {"id": f"tf_{n}", "start": start, "end": end}},
            {"@type": TEXT_DOCUMENT, "properties": {"id": f"td_{n}", "text": {"@value": text}}},
            {
                "@type": ALIGNMENT,
                "properties": {"id": f"al_{n}", "source": f"tf_{n}", "target": f"td_{n}"},
            },
        ]
    return annotations


def labels(frames: list[tuple[int, int, str]]) -> list[dict]:
    return [
        {"@type": TIME_FRAME, "properties": {"id": f"tf_{n}", "start": s, "end": e, "label": label}}
        for n, (s, e, label) in enumerate(frames, 1)
    ]


MS = {TIME_FRAME: {"timeUnit": "milliseconds"}}


def indexed_step(*, guid=None, batch=None, media_file=None, app="whisper", lines=(), frames=()):
    """A succeeded one-step run of ``media_file`` (or a new file called ``guid``) in ``batch`` whose output MMIF has
    a transcript view (``lines``: start ms, end ms, text) and a label view (``frames``: start ms, end ms, label),
    indexed. Returns the step."""
    batch = batch or BatchFactory()
    media_file = media_file or MediaFileFactory(**({"guid": guid} if guid else {}))
    batch.media_files.add(media_file)
    views = []
    if lines:
        views.append(view("v1", f"http://apps.clams.ai/{app}/v2", transcript("v1", list(lines)), contains=MS))
    if frames:
        views.append(view("v2", "http://apps.clams.ai/slates/v1", labels(list(frames)), contains=MS))
    name = store_mmif(f"mmif/search-{next(_names)}.mmif", views)
    run = RunFactory(batch=batch, media_file=media_file, status=Status.SUCCEEDED, final_mmif=name)
    step = StepRunFactory(
        run=run,
        position=1,
        app_name=app,
        status=Status.SUCCEEDED,
        output_mmif=name,
        finished_at=timezone.now(),
        summary={"views": [{"id": v["id"]} for v in views]},
    )
    step_index(step)
    return step
