"""Background work (thumbnails, duration probes) is rows sent in a small window on a queue of its own:
an import writes rows and sends no message per file, and a run's step never waits behind it."""

import io
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import redis
from django.urls import reverse
from PIL import Image

from background.models import BackgroundJob, JobStatus
from batches.importer import parse_rows
from batches.models import MediaFile
from batches.services import media_import, media_make_thumbnails
from runs.models import Status, Worker
from runs.services import batch_start
from runs.workers import current_name
from tests.factories import BatchFactory, MediaFileFactory, PipelineFactory, PipelineStepFactory
from tests.runner_helpers import register, wait_for, wait_until_finished


class BrokerPushes:
    """Counts, with Redis's MONITOR, the messages pushed onto these queues while the block runs."""

    def __init__(self, url: str, queues: list[str]):
        self.client = redis.Redis.from_url(url)
        self.queues = {queue.encode() for queue in queues}
        self.count = 0
        self._watching = threading.Event()
        self._stopped = threading.Event()

    def __enter__(self):
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()
        wait_for(self._watching.is_set, message="MONITOR to start")
        return self

    def _watch(self):
        with self.client.monitor() as monitor:
            self.client.echo("monitor-started")
            while True:
                command = monitor.next_command()["command"]
                if command == "ECHO monitor-started":
                    self._watching.set()
                elif command == "ECHO monitor-stopped":
                    self._stopped.set()
                    return
                name, _, rest = command.partition(" ")
                if name.upper() in ("LPUSH", "RPUSH") and rest.split(" ", 1)[0].encode() in self.queues:
                    self.count += 1

    def __exit__(self, *exc):
        self.client.echo("monitor-stopped")
        wait_for(self._stopped.is_set, message="MONITOR to stop")


@pytest.mark.django_db
def test_an_import_of_5000_files_records_their_thumbnails_and_sends_no_message_per_file(
    settings, redis_url, django_capture_on_commit_callbacks
):
    settings.THUMBNAILS_ON_IMPORT = True
    settings.BACKGROUND_WINDOW = 3
    rows = "guid,location,mime\n" + "".join(
        f"cpb-aacip-bg-{n:05d},file:///archive/tape-{n}.mp4,video/mp4\n" for n in range(5000)
    )

    queues = [settings.REDIS_KEY_PREFIX, settings.BACKGROUND_QUEUE]
    with BrokerPushes(redis_url, queues) as pushes, django_capture_on_commit_callbacks(execute=True):
        imported = media_import(parse_rows(rows, as_csv=True))

    assert imported.created == 5000, imported.sentence
    assert BackgroundJob.objects.filter(kind="thumbnail").count() == 5000
    assert 1 <= pushes.count <= 3  # the window's first messages; the other 4,997 wait as rows
    assert BackgroundJob.objects.filter(status=JobStatus.PENDING).count() >= 4997


class HeldImages(ThreadingHTTPServer):
    """A media server whose images are answered only once ``release`` is set: thumbnails that take their time."""

    daemon_threads = True

    def __init__(self):
        self.release = threading.Event()
        png = io.BytesIO()
        Image.new("RGB", (64, 48), "red").save(png, "PNG")
        self.png = png.getvalue()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                server.release.wait(60)
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.send_header("Content-Length", str(len(server.png)))
                self.end_headers()
                self.wfile.write(server.png)

            def log_message(self, *args):
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server_address[1]}"


@pytest.fixture
def held_images():
    server = HeldImages()
    yield server
    server.release.set()
    server.shutdown()


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("celery_worker")
def test_a_step_is_sent_and_done_while_thumbnails_wait(settings, tmp_path, idle_runner_apps, held_images):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.BACKGROUND_WINDOW = 2
    images = [
        MediaFileFactory(location=f"{held_images.url}/card-{n}.png", mime_type="image/png", document_type="image")
        for n in range(10)
    ]
    media_make_thumbnails(MediaFile.objects.filter(pk__in=[m.pk for m in images]))
    wait_for(
        lambda: BackgroundJob.objects.filter(status=JobStatus.RUNNING).count() == 2, message="two thumbnails begun"
    )

    pipeline = PipelineFactory()
    PipelineStepFactory(pipeline=pipeline, position=1, app=register(idle_runner_apps, "first"))
    batch = BatchFactory(pipeline=pipeline, media_files=MediaFileFactory.create_batch(3))
    batch_start(batch)
    runs = wait_until_finished(batch)

    assert [run.status for run in runs] == [Status.SUCCEEDED] * 3
    # Meanwhile the window held: two thumbnails in the making, the other eight still rows (and the steps' indexing
    # waits behind them too).
    assert BackgroundJob.objects.filter(kind="thumbnail", status=JobStatus.PENDING).count() == 8
    held_images.release.set()
    wait_for(
        lambda: BackgroundJob.objects.filter(kind="thumbnail", status=JobStatus.SUCCEEDED).count() == 10,
        timeout=60,
        message="every thumbnail",
    )
    assert MediaFile.objects.filter(pk__in=[m.pk for m in images], thumbnail="").count() == 0


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("celery_worker")
def test_a_thumbnail_of_an_unreadable_file_fails_once_with_a_sentence_and_is_not_tried_again(
    settings, tmp_path, curator_client
):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.MEDIA_FILE_ROOTS = [str(tmp_path)]
    media = MediaFileFactory(location=f"file://{tmp_path}/gone.mp4")

    media_make_thumbnails(MediaFile.objects.filter(pk=media.pk))
    job = wait_for(
        lambda: BackgroundJob.objects.filter(target=media.pk, status=JobStatus.FAILED).first(),
        message="the thumbnail to fail",
    )
    heartbeats = Worker.objects.get(name=current_name()).reports
    wait_for(
        lambda: Worker.objects.get(name=current_name()).reports >= heartbeats + 3,
        message="three more rounds of the worker",
    )

    job.refresh_from_db()
    assert (job.status, job.attempts) == (JobStatus.FAILED, 1)
    assert f"{tmp_path}/gone.mp4" in job.error
    assert BackgroundJob.objects.filter(target=media.pk).count() == 1
    listed = curator_client.get(reverse("admin:batches_mediafile_changelist")).content.decode()
    assert "✗ failed" in listed
