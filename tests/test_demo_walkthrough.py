"""Issue 15's walk-through on the demo, end to end through the real worker and the real demo apps: a pilot of two
files with the segmenter's threshold overridden, compared with the pipeline's own; the rest run; a new batch
starts from the summaries' MMIF and runs only the summarizer (the segmenter's own request counter proves it is
not called again); the batch's WebVTT zip; finals marked and delivered to a folder.

The browser drives the same pilot, compare and deliver steps in tests/test_pilot_browser.py and
tests/test_deliver_browser.py."""

import io
import threading
import zipfile

import pytest
from clams.restify import Restifier
from django.urls import reverse
from werkzeug.serving import make_server

from batches.services import batch_duplicate
from clams_apps.services import app_register
from deliverables.services import batch_deliver, batch_mark_final
from demo_apps.serve import APPS
from findings.selectors import compare_batches
from runs import inputs
from runs.models import Run, Status
from runs.services import Pilot, batch_start
from tests.deliverables_helpers import demo_files, demo_media  # noqa: F401  (fixture)
from tests.factories import BatchFactory, PipelineFactory, PipelineStepFactory
from tests.runner_apps import Behaviour, with_behaviour
from tests.runner_helpers import wait_until_finished

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("celery_worker")]

STEMS = ("beep", "chimes", "morse-ok", "two-tones")


@pytest.fixture(scope="module")
def counted_demo_apps():
    """The demo apps on loopback, each behind a counter of the requests it gets: name -> (URL, Behaviour)."""
    served = {}
    for name in ("segmenter", "summarizer"):
        behaviour = Behaviour()
        server = make_server(
            "127.0.0.1", 0, with_behaviour(Restifier(APPS[name]()).flask_app, behaviour), threaded=True
        )
        threading.Thread(target=server.serve_forever, daemon=True).start()
        served[name] = (server, behaviour)
    yield {name: (f"http://127.0.0.1:{server.server_port}/", behaviour) for name, (server, behaviour) in served.items()}
    for server, _ in served.values():
        server.shutdown()


def posts(apps, name) -> int:
    return apps[name][1].requests


def test_the_demo_walkthrough_pilot_compare_rest_reuse_captions_finals_and_delivery(
    counted_demo_apps,
    demo_media,  # noqa: F811
    curator,
    curator_client,
    settings,
    tmp_path,
):
    settings.MEDIA_ROOT = str(tmp_path / "storage")
    settings.DELIVERY_DESTINATIONS = {"catalog": str(tmp_path / "catalog")}
    segmenter = app_register(counted_demo_apps["segmenter"][0], name="Demo Audio Segmenter")
    summarizer = app_register(counted_demo_apps["summarizer"][0], name="Demo Time Frame Summarizer")
    pipeline = PipelineFactory(name="Demo: segment, then summarise")
    PipelineStepFactory(pipeline=pipeline, position=1, app=segmenter, parameters={"threshold": 0.02})
    PipelineStepFactory(pipeline=pipeline, position=2, app=summarizer, parameters={})
    demo = BatchFactory(name="Demo batch", pipeline=pipeline, media_files=demo_files(demo_media, STEMS))

    # A pilot of 2 files with the threshold overridden, and the same 2 with the pipeline's own in a copy.
    pilot = batch_start(demo, pilot=Pilot(first=2), overrides={1: {"threshold": 0.5}})
    default = batch_duplicate(demo)
    batch_start(default, pilot=Pilot(first=2))
    wait_until_finished(demo, timeout=60)
    wait_until_finished(default, timeout=60)
    assert pilot.started == 2 and pilot.unstarted == 2

    comparison = compare_batches(demo, default)
    assert [f.guid for f in comparison.files] == ["demo-beep", "demo-chimes"]
    assert any(row["differs"] for row in comparison.rows)
    assert comparison.left_parameters[0][0]["overrides"] == {"threshold": 0.5}

    # The rest, with the pipeline's own threshold.
    rest = batch_start(demo)
    runs = wait_until_finished(demo, timeout=60)
    assert (rest.started, rest.already) == (2, 2)
    assert [run.status for run in runs] == [Status.SUCCEEDED] * 4

    # A new batch from the summaries' MMIF runs only the summarizer: the segmenter is not called again.
    summarize_only = PipelineFactory(name="Summarise again")
    PipelineStepFactory(pipeline=summarize_only, position=1, app=summarizer, parameters={"unit": "milliseconds"})
    segmenter_posts, summarizer_posts = posts(counted_demo_apps, "segmenter"), posts(counted_demo_apps, "summarizer")
    reused = inputs.batch_from_runs(
        Run.objects.filter(pk__in=[r.pk for r in runs]), name="Resummarised", pipeline=summarize_only
    )
    batch_start(reused.batch)
    again = wait_until_finished(reused.batch, timeout=60)
    assert [run.status for run in again] == [Status.SUCCEEDED] * 4
    assert posts(counted_demo_apps, "segmenter") == segmenter_posts
    assert posts(counted_demo_apps, "summarizer") == summarizer_posts + 4

    # The batch's WebVTT captions, one per file, in one zip.
    download = curator_client.get(reverse("deliverables:batch_deliverable", args=[demo.pk, "vtt"]))
    assert download.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(b"".join(download.streaming_content)))
    assert sorted(archive.namelist()) == sorted(f"demo-{stem}.vtt" for stem in STEMS)
    assert all(archive.read(name).startswith(b"WEBVTT") for name in archive.namelist())

    # Finals marked, and delivered to a folder.
    assert batch_mark_final(demo, curator).count == 4
    delivered = batch_deliver(demo, "catalog", ["vtt"], curator, in_background=False)
    assert delivered.delivery.files_delivered == 4
    folder = tmp_path / "catalog" / f"batch-{demo.pk}"
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        ["manifest.json"] + [f"demo-{stem}.{ext}" for stem in STEMS for ext in ("mmif", "vtt")]
    )
