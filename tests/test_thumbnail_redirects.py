"""A thumbnail reads media only where the media policy allows: ffmpeg never follows a redirect Chowda has not
checked, and no message or log names a presigned S3 URL (its key id and signature)."""

import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import boto3
import pytest

from background.models import BackgroundJob, JobStatus
from batches.models import DocumentType, MediaFile
from batches.services import media_make_thumbnails
from batches.thumbnails import ThumbnailFailed, media_thumbnail_make
from demo_apps.media import write_demo_wav
from tests.factories import MediaFileFactory
from tests.runner_helpers import wait_for


class MediaHost:
    """A loopback media server: ``/tape.wav`` is a real WAV; ``/hop/N`` redirects to ``/hop/N-1`` and ``/hop/0``
    to ``target`` (with the status ``status``)."""

    def __init__(self, wav: bytes, *, status: int = 302, target: str = "/tape.wav"):
        self.hits: list[str] = []
        host = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self, body: bool):
                host.hits.append(self.path)
                if self.path == "/tape.wav":
                    self.send_response(200)
                    self.send_header("Content-Type", "audio/wav")
                    self.send_header("Content-Length", str(len(wav)))
                    self.end_headers()
                    if body:
                        self.wfile.write(wav)
                    return
                hops = int(self.path.rsplit("/", 1)[1])
                self.send_response(status)
                self.send_header("Location", target if hops == 0 else f"/hop/{hops - 1}")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def do_GET(self):
                self._answer(True)

            def do_HEAD(self):
                self._answer(False)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_port
        self.url = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


@pytest.fixture
def wav(tmp_path):
    return write_demo_wav(tmp_path / "tone.wav", [("tone", 0.5, 440)]).read_bytes()


@pytest.fixture
def hosts(wav):
    started = []

    def start(**kwargs):
        started.append(MediaHost(wav, **kwargs))
        return started[-1]

    yield start
    for host in started:
        host.httpd.shutdown()


def audio_at(location: str) -> MediaFile:
    return MediaFileFactory(location=location, mime_type="audio/wav", document_type=DocumentType.AUDIO)


@pytest.mark.django_db
@pytest.mark.parametrize(("status", "hops"), [(302, 0), (307, 0), (302, 6)])
def test_a_redirect_to_a_never_a_server_address_is_refused_and_ffmpeg_never_goes_there(
    settings, tmp_path, hosts, status, hops
):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    inside = hosts()  # 0.0.0.0 reaches this machine's own services
    outside = hosts(status=status, target=f"http://0.0.0.0:{inside.port}/tape.wav")
    media = audio_at(f"{outside.url}/hop/{hops}")

    with pytest.raises(ThumbnailFailed) as refused:
        media_thumbnail_make(media)

    assert inside.hits == []
    assert str(refused.value).startswith(f"Could not read the media at {media.location}:")
    assert ("0.0.0.0" in str(refused.value)) if hops < 5 else ("TooManyRedirects" in str(refused.value))


@pytest.mark.django_db
def test_a_redirect_the_policy_allows_is_followed_by_chowda_and_ffmpeg_reads_where_it_led(settings, tmp_path, hosts):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    host = hosts()
    media = audio_at(f"{host.url}/hop/2")

    assert media_thumbnail_make(media)

    media.refresh_from_db()
    assert media.thumbnail
    assert host.hits[-1] == "/tape.wav"


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("celery_worker")
def test_a_thumbnail_of_an_unreadable_s3_object_names_its_s3_location_never_a_presigned_url(
    s3_server, settings, tmp_path, monkeypatch, caplog
):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIATESTINGKEYID")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")  # pragma: allowlist secret
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    settings.S3_ENDPOINT_URL = s3_server
    settings.MEDIA_ROOT = str(tmp_path / "media")
    client = boto3.client("s3", endpoint_url=s3_server)
    client.create_bucket(Bucket="tapes")
    client.put_object(Bucket="tapes", Key="broken.wav", Body=b"not audio at all" * 100)
    media = audio_at("s3://tapes/broken.wav")

    with caplog.at_level(logging.INFO):
        media_make_thumbnails(MediaFile.objects.filter(pk=media.pk))
        job = wait_for(
            lambda: BackgroundJob.objects.filter(target=media.pk, status=JobStatus.FAILED).first(),
            message="the thumbnail to fail",
        )

    assert job.error.startswith("ffmpeg could not decode s3://tapes/broken.wav:")
    for said in (job.error, caplog.text):
        assert "AKIATESTINGKEYID" not in said and "Signature" not in said
