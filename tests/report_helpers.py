"""Batches with many finished runs, written with bulk_create so that a test of 100,000 files stays quick."""

from datetime import timedelta

from django.utils import timezone

from batches.models import Batch, MediaFile
from runs.models import Run, Status, StepRun
from tests.factories import BatchFactory, PipelineStepFactory

SUMMARY = {
    "views": [
        {"id": "v_1", "app": "http://apps.chowda.test/segmenter", "annotations": {"TimeFrame": 3}, "warnings": []},
        {"id": "v_2", "app": "http://apps.chowda.test/segmenter", "annotations": {"Alignment": 2}, "warnings": []},
    ],
    "view_ids": ["v_1", "v_2"],
}
STATUSES = [Status.SUCCEEDED, Status.FAILED, Status.RUNNING, Status.QUEUED]


def batch_with_runs(n: int, *, steps: int = 2, prefix: str = "guid", with_runs: bool = True) -> Batch:
    """A batch of ``n`` files whose runs cycle through succeeded, failed, running and queued (files, if asked)."""
    first = PipelineStepFactory(position=1)
    step_apps = [first.app]
    for position in range(2, steps + 1):
        step_apps.append(PipelineStepFactory(pipeline=first.pipeline, position=position).app)
    batch = BatchFactory(pipeline=first.pipeline)
    media = MediaFile.objects.bulk_create(
        MediaFile(
            guid=f"{prefix}-{batch.pk}-{i:06d}",
            location=f"file:///m/{i}.wav",
            mime_type="audio/wav",
            document_type="audio",
        )
        for i in range(n)
    )
    Batch.media_files.through.objects.bulk_create(
        Batch.media_files.through(batch_id=batch.pk, mediafile_id=m.pk) for m in media
    )
    if not with_runs:
        return batch
    now = timezone.now()
    snapshot = [
        {"position": p, "app_id": a.pk, "app_name": a.name, "parameters": {}} for p, a in enumerate(step_apps, start=1)
    ]
    runs = Run.objects.bulk_create(
        Run(
            batch=batch,
            media_file=m,
            status=STATUSES[i % 4],
            pipeline_snapshot=snapshot,
            started_at=now - timedelta(seconds=10),
            finished_at=now if STATUSES[i % 4] in (Status.SUCCEEDED, Status.FAILED) else None,
            error="Step 2 failed: App 'x' at http://x/ failed: boom" if STATUSES[i % 4] == Status.FAILED else "",
        )
        for i, m in enumerate(media)
    )
    StepRun.objects.bulk_create(
        StepRun(
            run=run,
            position=p,
            app=app,
            app_name=app.name,
            app_version="v1",
            status=Status.SUCCEEDED if run.status == Status.SUCCEEDED or p == 1 else run.status,
            duration=4.0 if run.status == Status.SUCCEEDED or p == 1 else None,
            finished_at=now if run.status == Status.SUCCEEDED or p == 1 else None,
            summary=SUMMARY if run.status == Status.SUCCEEDED or p == 1 else {},
            error_message="App 'x' at http://x/ failed: boom" if run.status == Status.FAILED and p == 2 else "",
        )
        for run in runs
        for p, app in enumerate(step_apps, start=1)
    )
    return batch
