"""The player's media endpoint serves only the file a media file names, only under the served root, in ranges."""

import os

import pytest
from django.urls import reverse

from batches.models import DocumentType
from findings.media import player_source
from tests.factories import MediaFileFactory, UserFactory

pytestmark = pytest.mark.django_db
AUDIO = bytes(range(256)) * 40  # 10,240 bytes


@pytest.fixture
def root(settings, tmp_path):
    folder = tmp_path / "media"
    folder.mkdir()
    settings.SERVED_MEDIA_ROOT = str(folder)
    return folder


def audio_file(path, guid="cpb-aacip-audio"):
    path.write_bytes(AUDIO)
    return MediaFileFactory(guid=guid, location=path.as_uri(), mime_type="audio/wav", document_type=DocumentType.AUDIO)


def content(client, media_file, **headers):
    return client.get(reverse("findings:media_content", args=[media_file.pk]), headers=headers)


def body(response) -> bytes:
    return b"".join(response.streaming_content)


def test_a_viewer_gets_the_whole_file_and_is_told_ranges_are_accepted(viewer_client, root):
    response = content(viewer_client, audio_file(root / "a.wav"))

    assert response.status_code == 200
    assert response["Accept-Ranges"] == "bytes"
    assert response["Content-Type"] == "audio/wav"
    assert body(response) == AUDIO


@pytest.mark.parametrize(
    ("header", "first", "last"),
    [
        ("bytes=0-99", 0, 99),
        ("bytes=10000-", 10000, 10239),
        ("bytes=-40", 10200, 10239),
        ("bytes=100-99999", 100, 10239),
    ],
)
def test_a_range_is_answered_206_with_its_bytes_and_content_range(viewer_client, root, header, first, last):
    response = content(viewer_client, audio_file(root / "a.wav"), Range=header)

    assert response.status_code == 206
    assert response["Content-Range"] == f"bytes {first}-{last}/{len(AUDIO)}"
    assert response["Content-Length"] == str(last - first + 1)
    assert body(response) == AUDIO[first : last + 1]


def test_a_range_past_the_end_is_416_with_the_size(viewer_client, root):
    response = content(viewer_client, audio_file(root / "a.wav"), Range="bytes=20000-")

    assert response.status_code == 416
    assert response["Content-Range"] == f"bytes */{len(AUDIO)}"
    assert "past the end" in response.content.decode()


def test_several_ranges_get_the_whole_file(viewer_client, root):
    response = content(viewer_client, audio_file(root / "a.wav"), Range="bytes=0-1,5-6")

    assert response.status_code == 200
    assert body(response) == AUDIO


def test_a_file_outside_the_served_root_is_refused(viewer_client, root, tmp_path):
    response = content(viewer_client, audio_file(tmp_path / "secret.wav"))

    assert response.status_code == 403
    assert "outside the served media folder" in response.content.decode()


def test_dot_dot_in_the_location_cannot_climb_out_of_the_root(viewer_client, root, tmp_path):
    (tmp_path / "secret.wav").write_bytes(b"secret")
    media_file = MediaFileFactory(location=f"file://{root}/../secret.wav", document_type=DocumentType.AUDIO)

    response = content(viewer_client, media_file)

    assert response.status_code == 403
    assert b"secret" not in response.content


def test_a_symlink_inside_the_root_to_a_file_outside_is_refused(viewer_client, root, tmp_path):
    (tmp_path / "passwd").write_text("root:x:0:0")
    os.symlink(tmp_path / "passwd", root / "innocent.wav")
    media_file = MediaFileFactory(location=(root / "innocent.wav").as_uri(), document_type=DocumentType.AUDIO)

    response = content(viewer_client, media_file)

    assert response.status_code == 403
    assert b"root:x" not in response.content


def test_a_missing_file_is_404_saying_to_check_the_location(viewer_client, root):
    media_file = MediaFileFactory(location=(root / "gone.wav").as_uri(), document_type=DocumentType.AUDIO)

    response = content(viewer_client, media_file)

    assert response.status_code == 404
    assert "check its location" in response.content.decode()


def test_a_folder_is_not_served(viewer_client, root):
    (root / "folder").mkdir()
    media_file = MediaFileFactory(location=(root / "folder").as_uri(), document_type=DocumentType.AUDIO)

    assert content(viewer_client, media_file).status_code == 404


def test_an_http_location_is_never_fetched_by_chowda(viewer_client, root):
    media_file = MediaFileFactory(location="http://archive.example/a.wav", document_type=DocumentType.AUDIO)

    assert content(viewer_client, media_file).status_code == 404
    assert player_source(media_file) == ("http://archive.example/a.wav", "")


def test_with_no_served_root_nothing_is_served(viewer_client, root, settings):
    media_file = audio_file(root / "a.wav")
    settings.SERVED_MEDIA_ROOT = None

    response = content(viewer_client, media_file)

    assert response.status_code == 403
    assert "CHOWDA_SERVED_MEDIA_ROOT" in response.content.decode()


def test_people_without_the_permission_to_view_media_files_are_refused(client, root):
    media_file = audio_file(root / "a.wav")
    client.force_login(UserFactory(username="stranger"))

    assert content(client, media_file).status_code == 403
    client.logout()
    assert content(client, media_file).status_code == 302


def test_the_player_plays_files_under_the_root_and_says_why_not_otherwise(root, tmp_path):
    inside = audio_file(root / "a.wav")
    outside = audio_file(tmp_path / "b.wav", guid="cpb-aacip-outside")
    text = MediaFileFactory(location=(root / "a.txt").as_uri(), mime_type="text/plain", document_type=DocumentType.TEXT)

    assert player_source(inside) == (reverse("findings:media_content", args=[inside.pk]), "")
    assert player_source(outside)[0] is None
    assert "outside the served media folder" in player_source(outside)[1]
    assert player_source(text) == (None, "Text files have no player; the timeline shows the times.")
