"""Media files get a small still (video, image) or a waveform strip (audio), made in the background."""

import subprocess
from io import StringIO

import imageio_ffmpeg
import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from PIL import Image

from batches.importer import parse_rows
from batches.models import MediaFile
from batches.services import media_import
from batches.thumbnails import ThumbnailFailed, media_thumbnail_make
from demo_apps.media import write_demo_wav
from tests.factories import MediaFileFactory, RunFactory
from tests.runner_helpers import wait_for


@pytest.fixture
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.MEDIA_FILE_ROOTS = [str(tmp_path)]
    return tmp_path


def thumbnail_size(media_file) -> tuple[int, int]:
    media_file.refresh_from_db()
    with media_file.thumbnail.open("rb") as f:
        image = Image.open(f)
        image.load()
        return image.size


@pytest.mark.django_db
def test_an_audio_file_gets_a_waveform_strip(media_root):
    wav = write_demo_wav(media_root / "tone.wav", [("tone", 0.5, 440), ("silence", 0.5)])
    media = MediaFileFactory(location=f"file://{wav}", mime_type="audio/wav", document_type="audio")

    assert media_thumbnail_make(media)

    assert thumbnail_size(media) == (320, 48)
    with media.thumbnail.open("rb") as f:
        strip = Image.open(f).convert("L")
        loud, quiet = strip.getpixel((80, 16)), strip.getpixel((240, 16))
    assert loud < 200 < quiet  # drawn where the tone plays, blank where it is silent


@pytest.mark.django_db
@pytest.mark.parametrize(("document_type", "mime"), [("image", "image/png"), ("video", "video/mp4")])
def test_a_location_on_a_link_local_address_is_not_read(media_root, document_type, mime):
    location = "http://169.254.169.254/latest/meta-data/"
    media = MediaFileFactory(location=location, mime_type=mime, document_type=document_type)

    with pytest.raises(ThumbnailFailed) as refused:
        media_thumbnail_make(media)

    assert "Chowda does not fetch media from link-local addresses such as 169.254.169.254" in str(refused.value)
    assert location in str(refused.value)
    media.refresh_from_db()
    assert not media.thumbnail


@pytest.mark.django_db
def test_a_local_file_outside_the_media_file_roots_is_not_read(media_root, tmp_path_factory):
    elsewhere = tmp_path_factory.mktemp("elsewhere") / "poster.png"
    Image.new("RGB", (800, 600), "red").save(elsewhere)
    link = media_root / "link.png"
    link.symlink_to(elsewhere)  # a link inside the roots cannot lead out of them

    for path in (elsewhere, link):
        media = MediaFileFactory(location=f"file://{path}", mime_type="image/png", document_type="image")
        with pytest.raises(ThumbnailFailed) as refused:
            media_thumbnail_make(media)
        assert f"Chowda reads local media files only under CHOWDA_MEDIA_FILE_ROOTS ({media_root})" in str(refused.value)


@pytest.mark.django_db
def test_an_image_gets_a_small_still(media_root):
    png = media_root / "poster.png"
    Image.new("RGB", (800, 600), "red").save(png)
    media = MediaFileFactory(location=f"file://{png}", mime_type="image/png", document_type="image")

    assert media_thumbnail_make(media)

    assert thumbnail_size(media) == (120, 90)


@pytest.mark.django_db
def test_a_video_gets_a_small_still_made_with_the_bundled_ffmpeg(media_root):
    video = media_root / "clip.mp4"
    subprocess.run(
        [
            imageio_ffmpeg.get_ffmpeg_exe(),
            "-loglevel",
            "error",
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=320x240:rate=10",
            "-t",
            "2",
            "-pix_fmt",
            "yuv420p",
            str(video),
        ],
        check=True,
    )
    media = MediaFileFactory(location=f"file://{video}")

    assert media_thumbnail_make(media)

    assert thumbnail_size(media) == (160, 120)


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("celery_worker")
def test_imported_media_get_thumbnails_in_the_background_and_the_list_shows_them(media_root, settings, curator_client):
    settings.THUMBNAILS_ON_IMPORT = True
    png = media_root / "card.png"
    Image.new("RGB", (400, 300), "blue").save(png)

    imported = media_import(parse_rows(f"guid,location,mime\ncpb-thumb-1,file://{png},image/png\n", as_csv=True))
    assert imported.created == 1, imported.sentence

    media = wait_for(
        lambda: MediaFile.objects.filter(guid="cpb-thumb-1").exclude(thumbnail="").first(), message="the thumbnail task"
    )
    url = reverse("admin:batches_mediafile_thumbnail", args=[media.pk])
    assert url in curator_client.get(reverse("admin:batches_mediafile_changelist")).content.decode()
    answer = curator_client.get(url)
    assert answer.status_code == 200 and answer["Content-Type"] == "image/png"


@pytest.mark.django_db
def test_a_viewer_sees_thumbnails_but_cannot_make_them(media_root, viewer_client):
    media = MediaFileFactory()

    answer = viewer_client.post(
        reverse("admin:batches_mediafile_changelist"), {"action": "make_thumbnails", "_selected_action": [media.pk]}
    )

    assert answer.status_code == 200  # the action is not offered: the list shows again, nothing queued
    assert "Make thumbnails" not in viewer_client.get(reverse("admin:batches_mediafile_changelist")).content.decode()


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("celery_worker")
def test_a_curator_makes_thumbnails_through_the_api_and_a_viewer_cannot(media_root, api, viewer):
    png = media_root / "api.png"
    Image.new("RGB", (200, 100), "green").save(png)
    media = MediaFileFactory(location=f"file://{png}", mime_type="image/png", document_type="image")
    url = reverse("api:media-file-thumbnails")

    answer = api.post(url, {"media_files": [media.pk]}, format="json")

    assert answer.status_code == 202
    assert answer.json()["sentence"].startswith("Making the thumbnails of 1 media file(s)")
    wait_for(lambda: MediaFile.objects.exclude(thumbnail="").filter(pk=media.pk).exists(), message="the thumbnail")
    api.force_authenticate(viewer)
    assert api.post(url, {"media_files": [media.pk]}, format="json").status_code == 403


@pytest.mark.django_db
def test_the_command_queues_only_video_image_and_audio_files_without_a_thumbnail():
    MediaFileFactory(thumbnail="thumbnails/done.png")
    MediaFileFactory(document_type="text", mime_type="text/plain")
    out = StringIO()

    call_command("make_thumbnails", "--missing", stdout=out)

    assert "Making the thumbnails of 0 media file(s) in the background" in out.getvalue()
    with pytest.raises(CommandError, match="There is no batch with id 999999"):
        call_command("make_thumbnails", "--batch", "999999")


@pytest.mark.django_db
def test_the_run_page_shows_the_thumbnail_or_says_there_is_none(media_root, viewer_client):
    run = RunFactory()
    page = reverse("runs:run_live", args=[run.pk])
    assert "No thumbnail" in viewer_client.get(page).content.decode()

    MediaFile.objects.filter(pk=run.media_file_id).update(thumbnail="thumbnails/x.png")

    html = viewer_client.get(page).content.decode()
    assert reverse("admin:batches_mediafile_thumbnail", args=[run.media_file_id]) in html
    assert "No thumbnail" not in html
