import io
import sys

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse

from batches.importer import parse_csv, parse_guid_text
from batches.models import Batch, Collection, MediaFile
from batches.services import media_import
from tests.factories import BatchFactory, CollectionFactory, MediaFileFactory

IMPORT_URL = reverse("admin:batches_mediafile_import")
pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def location_template(settings):
    settings.MEDIA_LOCATION_TEMPLATE = "file:///media/{guid}.mp4"


def assert_nothing_written(files_before: int = 0) -> None:
    assert MediaFile.objects.count() == files_before
    assert not Batch.objects.exists()
    assert not Collection.objects.exists()


# Parsing


def test_guid_text_splits_on_newlines_commas_spaces_and_semicolons_and_keeps_line_numbers():
    rows = parse_guid_text("cpb-1\n\n cpb-2, cpb-3;cpb-4\tcpb-5\n")
    assert [(r.line, r.guid) for r in rows] == [(1, "cpb-1"), (3, "cpb-2"), (3, "cpb-3"), (3, "cpb-4"), (3, "cpb-5")]


def test_csv_header_is_case_insensitive_and_values_are_optional():
    rows = parse_csv(" GUID , Mime,location\ncpb-1,audio/mpeg,http://media.test/1.mp3\n\ncpb-2,,\n")
    assert [(r.line, r.guid, r.location, r.mime) for r in rows] == [
        (2, "cpb-1", "http://media.test/1.mp3", "audio/mpeg"),
        (4, "cpb-2", "", ""),
    ]


def test_csv_without_a_header_is_an_error_for_line_1():
    (row,) = parse_csv("cpb-1,file:///media/1.mp4\n")
    assert row.line == 1
    assert "header" in row.error


def test_csv_with_an_unknown_column_is_an_error_for_line_1():
    (row,) = parse_csv("guid,title\ncpb-1,News\n")
    assert (row.line, row.text) == (1, "guid,title")
    assert "'title'" in row.error


# Importing


def test_it_creates_pasted_guids_with_locations_from_the_template():
    guids = [f"cpb-aacip-{n:04d}" for n in range(100)]
    result = media_import(parse_guid_text("\n".join(guids)))
    assert (result.created, result.existing, result.errors) == (100, 0, [])
    media = MediaFile.objects.get(guid="cpb-aacip-0042")
    assert media.location == "file:///media/cpb-aacip-0042.mp4"
    assert (media.mime_type, media.document_type) == ("video/mp4", "video")


def test_it_imports_10000_guids_without_a_query_per_file(django_assert_max_num_queries):
    text = " ".join(f"cpb-aacip-{n:05d}" for n in range(10_000))
    # Lookups in chunks of 900 and inserts in the chunks SQLite's variable limit allows.
    with django_assert_max_num_queries(120):
        result = media_import(parse_guid_text(text), new_batch_name="Big")
    assert result.created == 10_000
    assert result.batch.media_files.count() == 10_000


def test_it_takes_location_and_mime_from_csv_and_guesses_missing_mime():
    text = "guid,location,mime\ncpb-1,http://media.test/1.wav,audio/wav\ncpb-2,file:///srv/2.jpg,\ncpb-3\n"
    result = media_import(parse_csv(text))
    assert result.created == 3
    files = {m.guid: (m.location, m.mime_type, m.document_type) for m in MediaFile.objects.all()}
    assert files == {
        "cpb-1": ("http://media.test/1.wav", "audio/wav", "audio"),
        "cpb-2": ("file:///srv/2.jpg", "image/jpeg", "image"),
        "cpb-3": ("file:///media/cpb-3.mp4", "video/mp4", "video"),
    }


def test_it_counts_existing_guids_and_leaves_them_unchanged():
    MediaFileFactory(guid="cpb-old", location="http://old.test/old.wav", mime_type="audio/wav", document_type="audio")
    result = media_import(parse_csv("guid,location\ncpb-old,file:///new/old.mp4\ncpb-new,\ncpb-new,\n"))
    assert (result.created, result.existing) == (1, 1)
    assert MediaFile.objects.get(guid="cpb-old").location == "http://old.test/old.wav"


def test_existing_guids_need_no_location_template(settings):
    settings.MEDIA_LOCATION_TEMPLATE = ""
    MediaFileFactory(guid="cpb-old")
    result = media_import(parse_guid_text("cpb-old"), new_batch_name="Rerun")
    assert (result.created, result.existing, result.errors) == (0, 1, [])


def test_it_puts_new_and_existing_files_into_a_new_batch_and_collection(curator):
    MediaFileFactory(guid="cpb-old")
    result = media_import(
        parse_guid_text("cpb-old cpb-new"), new_batch_name="Spring", new_collection_name="Donation", user=curator
    )
    assert result.batch.name == "Spring"
    assert result.batch.created_by == curator
    assert set(result.batch.media_files.values_list("guid", flat=True)) == {"cpb-old", "cpb-new"}
    assert set(result.collection.media_files.values_list("guid", flat=True)) == {"cpb-old", "cpb-new"}


def test_it_adds_to_an_existing_batch_and_collection_without_duplicating_members():
    old = MediaFileFactory(guid="cpb-old")
    batch, collection = BatchFactory(media_files=[old]), CollectionFactory(media_files=[old])
    media_import(parse_guid_text("cpb-old cpb-new"), batch=batch, collection=collection)
    assert batch.media_files.count() == 2
    assert collection.media_files.count() == 2


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("guid\ncpb-1\nnot/a/guid\n", "'not/a/guid' is not a valid GUID"),
        ("guid,location\ncpb-1,\ncpb-2,ftp://media.test/2.mp4\n", "not a location the apps can read"),
        ("guid,mime\ncpb-1,\ncpb-2,application/pdf\n", "MIME type 'application/pdf' is not one Chowda imports"),
        ("guid,location\ncpb-1,\ncpb-2,file:///media/2.pdf\n", "MIME type 'application/pdf' is not one Chowda imports"),
        ("guid,location\ncpb-1,\ncpb-2,file:///media/2\n", "Cannot tell the MIME type of 'file:///media/2'"),
        ("guid,location\ncpb-1,\ncpb-2,file:///media/2.mp4,video/mp4\n", "has 3 values but the header names only 2"),
        ("guid,location\ncpb-1,\ncpb-1,file:///other/1.mp4\n", "'cpb-1' is also on line 2"),
    ],
)
def test_an_invalid_line_is_reported_and_nothing_is_written(text, reason):
    result = media_import(parse_csv(text), new_batch_name="Spring", new_collection_name="Donation")
    (error,) = result.errors
    assert error.line == 3
    assert reason in error.reason
    assert result.created == 1
    assert_nothing_written()


def test_a_missing_location_without_a_template_says_how_to_fix_it(settings):
    settings.MEDIA_LOCATION_TEMPLATE = ""
    MediaFileFactory(guid="cpb-old")
    result = media_import(parse_guid_text("cpb-old cpb-new"))
    (error,) = result.errors
    assert "CHOWDA_MEDIA_LOCATION_TEMPLATE" in error.reason
    assert "location column" in error.reason
    assert MediaFile.objects.count() == 1


def test_an_invalid_line_does_not_touch_existing_batches():
    batch = BatchFactory()
    result = media_import(parse_guid_text("cpb-1 bad/guid"), batch=batch)
    assert result.errors
    assert batch.media_files.count() == 0
    assert MediaFile.objects.count() == 0


@pytest.mark.parametrize("parse", [parse_guid_text, parse_csv])
def test_an_empty_input_is_an_error(parse):
    result = media_import(parse(" \n\n"))
    assert [e.reason for e in result.errors] == ["No GUIDs were given."]


# The admin page


def test_curators_see_the_import_page(curator_client):
    response = curator_client.get(IMPORT_URL)
    assert response.status_code == 200
    assert b"Import" in response.content
    assert b'name="guids"' in response.content


def test_curators_import_pasted_guids_into_a_new_batch(curator_client, curator):
    response = curator_client.post(IMPORT_URL, {"guids": "cpb-1\ncpb-2", "new_batch_name": "Spring"}, follow=True)
    batch = Batch.objects.get()
    assert MediaFile.objects.count() == 2
    assert batch.created_by == curator
    assert "2 created, 0 already existed" in response.content.decode()
    assert reverse("admin:batches_batch_change", args=[batch.pk]) in response.content.decode()


def test_curators_import_an_uploaded_csv(curator_client):
    upload = SimpleUploadedFile("media.csv", b"\xef\xbb\xbfguid,location\ncpb-1,http://media.test/1.mp3\n")
    curator_client.post(IMPORT_URL, {"csv_file": upload})
    assert MediaFile.objects.get().mime_type == "audio/mpeg"


def test_an_invalid_post_lists_every_bad_line_and_imports_nothing(curator_client):
    response = curator_client.post(IMPORT_URL, {"guids": "cpb-1\nbad/one\ncpb-3\nbad/two", "new_batch_name": "Spring"})
    page = response.content.decode()
    assert response.status_code == 200
    assert "Nothing was imported" in page
    assert "bad/one" in page and "bad/two" in page
    assert page.count("is not a valid GUID") == 2
    assert "cpb-1\nbad/one" in page  # the input is kept for fixing
    assert_nothing_written()


def test_an_invalid_upload_is_offered_for_fixing_in_the_text_box(curator_client):
    upload = SimpleUploadedFile("media.csv", b"guid,location\ncpb-1,ftp://nope\n")
    page = curator_client.post(IMPORT_URL, {"csv_file": upload}).content.decode()
    assert "Nothing was imported" in page
    assert "guid,location\ncpb-1,ftp://nope" in page
    assert_nothing_written()


def test_the_form_needs_exactly_one_input_and_one_destination_of_each_kind(curator_client):
    upload = SimpleUploadedFile("media.csv", b"guid\ncpb-1\n")
    batch = BatchFactory()
    page = curator_client.post(
        IMPORT_URL, {"guids": "cpb-2", "csv_file": upload, "batch": batch.pk, "new_batch_name": "Spring"}
    ).content.decode()
    assert "Paste GUIDs or choose a CSV file" in page
    assert "Choose an existing batch or name a new one, not both." in page
    assert MediaFile.objects.count() == 0


def test_viewers_may_not_import(viewer_client):
    assert viewer_client.get(IMPORT_URL).status_code == 403
    assert viewer_client.post(IMPORT_URL, {"guids": "cpb-1"}).status_code == 403
    assert MediaFile.objects.count() == 0


def test_the_change_list_offers_import_next_to_add_to_curators(curator_client):
    page = curator_client.get(reverse("admin:batches_mediafile_changelist")).content.decode()
    assert IMPORT_URL in page
    assert reverse("admin:batches_mediafile_add") in page


def test_the_change_list_does_not_offer_import_to_viewers(viewer_client):
    response = viewer_client.get(reverse("admin:batches_mediafile_changelist"))
    assert response.status_code == 200
    assert IMPORT_URL not in response.content.decode()


# The management command


def test_the_command_imports_a_csv_file_into_named_batch_and_collection(tmp_path, capsys):
    CollectionFactory(name="Donation")
    path = tmp_path / "media.csv"
    path.write_text("guid,mime\ncpb-1,audio/mpeg\ncpb-2,\n")
    call_command("import_media", str(path), batch="Spring", collection="Donation")
    assert (
        "Imported 2 media files: 2 created, 0 already existed. Added them to batch 'Spring' and collection 'Donation'."
        in capsys.readouterr().out
    )
    assert Collection.objects.get().media_files.count() == 2
    assert Batch.objects.get(name="Spring").media_files.count() == 2


def test_the_command_reads_guids_from_stdin(monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdin", io.StringIO("cpb-1\ncpb-2 cpb-3\n"))
    call_command("import_media", "-")
    assert MediaFile.objects.count() == 3


def test_the_command_reports_every_invalid_line_and_imports_nothing(tmp_path, capsys):
    path = tmp_path / "guids.txt"
    path.write_text("cpb-1\nbad/one\nbad/two\n")
    with pytest.raises(CommandError, match="Nothing was imported"):
        call_command("import_media", str(path), batch="Spring")
    err = capsys.readouterr().err
    assert "line 2: 'bad/one' is not a valid GUID" in err
    assert "line 3: 'bad/two' is not a valid GUID" in err
    assert_nothing_written()
