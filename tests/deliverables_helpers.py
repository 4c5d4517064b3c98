"""The demo apps run through the real worker, so that deliverables are written from what real apps answer."""

import pytest

from batches.models import DocumentType
from clams_apps.services import app_register
from demo_apps.media import write_demo_media
from demo_apps.serve import serve_in_thread
from runs.models import Status
from runs.services import batch_start
from tests.factories import BatchFactory, MediaFileFactory, PipelineFactory, PipelineStepFactory
from tests.runner_helpers import wait_until_finished


@pytest.fixture(scope="module")
def demo_apps():
    """Both demo apps served on loopback for the module: name -> base URL."""
    served = {name: serve_in_thread(name) for name in ("segmenter", "summarizer")}
    yield {name: url for name, (url, _stop) in served.items()}
    for _url, stop in served.values():
        stop()


@pytest.fixture(scope="module")
def demo_media(tmp_path_factory):
    """The demo WAV files: stem -> path."""
    return {path.stem: path for path in write_demo_media(tmp_path_factory.mktemp("demo-media"))}


@pytest.fixture
def mmif_storage(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "storage")


def demo_pipeline(demo_apps):
    pipeline = PipelineFactory(name="Demo: segment, then summarise")
    segmenter = app_register(demo_apps["segmenter"], name="Demo Audio Segmenter")
    summarizer = app_register(demo_apps["summarizer"], name="Demo Time Frame Summarizer")
    PipelineStepFactory(pipeline=pipeline, position=1, app=segmenter, parameters={"threshold": 0.02})
    PipelineStepFactory(pipeline=pipeline, position=2, app=summarizer, parameters={})
    return pipeline


def demo_files(demo_media, stems):
    return [
        MediaFileFactory(
            guid=f"demo-{stem}",
            location=demo_media[stem].as_uri(),
            mime_type="audio/wav",
            document_type=DocumentType.AUDIO,
        )
        for stem in stems
    ]


def run_demo_batch(demo_apps, demo_media, stems=("beep", "two-tones"), *, name="Demo batch", pipeline=None):
    """A batch of the demo files through the demo pipeline, run to the end; returns (batch, its runs)."""
    batch = BatchFactory(
        name=name, pipeline=pipeline or demo_pipeline(demo_apps), media_files=demo_files(demo_media, stems)
    )
    batch_start(batch)
    runs = wait_until_finished(batch)
    assert [run.status for run in runs] == [Status.SUCCEEDED] * len(stems), [run.error for run in runs]
    return batch, runs
