"""Media files and collections: listing with filters, creating one, and importing many, all or nothing."""

import pytest
from rest_framework.test import APIClient

from batches.models import Batch, Collection, DocumentType, MediaFile
from tests.factories import BatchFactory, CollectionFactory, MediaFileFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def location_template(settings):
    settings.MEDIA_LOCATION_TEMPLATE = "file:///media/{guid}.mp4"


def guids(response):
    return [item["guid"] for item in response.json()["results"]]


def test_media_files_are_filtered_by_guid_collection_and_batch(api):
    a, b, c = MediaFileFactory(guid="cpb-a"), MediaFileFactory(guid="cpb-b"), MediaFileFactory(guid="cpb-c")
    collection = CollectionFactory(media_files=[a, b])
    batch = BatchFactory(media_files=[b, c])

    assert guids(api.get("/api/media-files/")) == ["cpb-a", "cpb-b", "cpb-c"]
    assert guids(api.get("/api/media-files/", {"guid": "cpb-b"})) == ["cpb-b"]
    assert guids(api.get("/api/media-files/", {"collection": collection.pk})) == ["cpb-a", "cpb-b"]
    assert guids(api.get("/api/media-files/", {"batch": batch.pk})) == ["cpb-b", "cpb-c"]
    assert guids(api.get("/api/media-files/", {"batch": batch.pk, "collection": collection.pk})) == ["cpb-b"]
    assert api.get("/api/media-files/", {"batch": "three"}).json() == {"batch": ["Enter a whole number."]}


def test_one_media_file_is_created_with_its_document_type_taken_from_the_mime_type(api):
    response = api.post(
        "/api/media-files/", {"guid": "cpb-1", "location": "file:///m/1.wav", "mime_type": "audio/wav"}, format="json"
    )

    assert response.status_code == 201, response.json()
    assert response.json()["document_type"] == DocumentType.AUDIO
    assert MediaFile.objects.get().document_type == DocumentType.AUDIO


def test_a_media_file_is_checked_like_in_the_admin(api):
    MediaFileFactory(guid="cpb-taken")
    answers = [
        api.post("/api/media-files/", body, format="json").json()
        for body in [
            {"guid": "bad guid", "location": "ftp://x/y", "mime_type": "video/mp4"},
            {"guid": "cpb-2", "location": "file:///m/2.mp4", "mime_type": "video/mp4", "document_type": "audio"},
            {"guid": "cpb-3", "location": "file:///m/3.bin", "mime_type": "application/octet-stream"},
            {"guid": "cpb-taken", "location": "file:///m/t.mp4", "mime_type": "video/mp4"},
        ]
    ]

    assert answers[0]["guid"][0].startswith("'bad guid' is not a valid GUID")
    assert answers[0]["location"] == [
        "'ftp://x/y' is not a location the apps can read: use a file://, http://, https://, s3:// or sonyci:// URI."
    ]
    assert answers[1] == {"document_type": ["MIME type video/mp4 is video, not audio."]}
    assert answers[2] == {
        "document_type": [
            "MIME type 'application/octet-stream' does not tell whether the file is video, audio, image or text: "
            "give the document type."
        ]
    }
    assert answers[3] == {"guid": ["media file with this GUID already exists."]}


def test_importing_guids_creates_the_new_ones_and_adds_all_to_a_new_batch(api, curator):
    MediaFileFactory(guid="cpb-old")

    response = api.post(
        "/api/media-files/import/", {"guids": "cpb-old, cpb-new1\ncpb-new2", "new_batch_name": "Nightly"}, format="json"
    )

    assert response.status_code == 200, response.json()
    batch = Batch.objects.get(name="Nightly")
    assert response.json() == {
        "detail": "Imported 3 media files: 2 created, 1 already existed. Added them to batch 'Nightly'.",
        "created": 2,
        "existing": 1,
        "errors": [],
        "batch": batch.pk,
        "collection": None,
    }
    assert sorted(batch.media_files.values_list("guid", flat=True)) == ["cpb-new1", "cpb-new2", "cpb-old"]
    assert batch.created_by == curator
    assert MediaFile.objects.get(guid="cpb-new1").location == "file:///media/cpb-new1.mp4"


def test_importing_csv_into_an_existing_collection(api):
    collection = CollectionFactory(name="Donation")
    text = "guid,location,mime\ncpb-1,https://media.example.org/1.mp3,audio/mpeg\ncpb-2,file:///m/2.jpg,image/jpeg\n"

    response = api.post("/api/media-files/import/", {"csv": text, "collection": collection.pk}, format="json")

    assert response.status_code == 200, response.json()
    assert response.json()["collection"] == collection.pk
    assert sorted(collection.media_files.values_list("guid", "document_type")) == [
        ("cpb-1", DocumentType.AUDIO),
        ("cpb-2", DocumentType.IMAGE),
    ]


def test_pasted_text_with_a_csv_header_is_read_as_csv(api):
    response = api.post("/api/media-files/import/", {"guids": "guid,mime\ncpb-9,video/mp4\n"}, format="json")

    assert response.json()["created"] == 1
    assert MediaFile.objects.get().guid == "cpb-9"


def test_a_multipart_form_works_for_curl_dash_f(api):
    response = api.post("/api/media-files/import/", {"csv": "guid\ncpb-1\n"}, format="multipart")

    assert response.status_code == 200, response.json()


def test_one_bad_line_imports_nothing_and_every_bad_line_is_reported(api):
    text = "guid,location,mime\ncpb-1,file:///m/1.mp4,video/mp4\nbad guid!,,\ncpb-3,ftp://x,video/mp4\n"

    response = api.post("/api/media-files/import/", {"csv": text, "new_batch_name": "Nightly"}, format="json")

    assert response.status_code == 400
    body = response.json()
    assert body["detail"] == "Nothing was imported: 2 lines are invalid. Fix them and import everything again."
    assert (body["created"], body["existing"], body["batch"]) == (1, 0, None)
    assert [(e["line"], e["text"]) for e in body["errors"]] == [(3, "bad guid!,,"), (4, "cpb-3,ftp://x,video/mp4")]
    assert body["errors"][1]["reason"] == (
        "'ftp://x' is not a location the apps can read: use a file://, http://, https://, s3:// or sonyci:// URI."
    )
    assert not MediaFile.objects.exists()
    assert not Batch.objects.exists()


def test_the_input_must_be_guids_or_csv_and_one_destination_of_each_kind(api):
    batch = BatchFactory()
    CollectionFactory(name="Donation")

    neither = api.post("/api/media-files/import/", {}, format="json")
    both = api.post("/api/media-files/import/", {"guids": "a", "csv": "guid\na"}, format="json")
    twice = api.post(
        "/api/media-files/import/", {"guids": "a", "batch": batch.pk, "new_batch_name": "B"}, format="json"
    )
    taken = api.post("/api/media-files/import/", {"guids": "a", "new_collection_name": "Donation"}, format="json")

    assert neither.json() == {"non_field_errors": ["Send GUIDs in guids or CSV text in csv (one of the two)."]}
    assert both.status_code == 400
    assert twice.json() == {"new_batch_name": ["Give an existing batch or name a new one, not both."]}
    assert taken.json() == {
        "new_collection_name": ["A collection named 'Donation' already exists: give its id as collection instead."]
    }


def test_adding_to_a_batch_needs_the_permission_to_change_it(db):
    from django.contrib.auth.models import Permission

    from tests.factories import UserFactory

    importer = UserFactory(username="importer")
    importer.user_permissions.add(Permission.objects.get(codename="add_mediafile"))
    client = APIClient()
    client.force_authenticate(importer)
    batch = BatchFactory()

    assert client.post("/api/media-files/import/", {"guids": "cpb-1"}, format="json").status_code == 200
    refused = client.post("/api/media-files/import/", {"guids": "cpb-2", "batch": batch.pk}, format="json")
    assert refused.status_code == 403
    assert refused.json()["detail"] == (
        "You may not add files to existing batches: import without that destination, "
        "or ask an administrator for the permission."
    )
    assert not MediaFile.objects.filter(guid="cpb-2").exists()


def test_collections_show_their_file_count_and_take_media_file_ids(api):
    files = MediaFileFactory.create_batch(3)

    created = api.post(
        "/api/collections/", {"name": "Donation", "media_files": [f.pk for f in files[:2]]}, format="json"
    )
    changed = api.patch(
        f"/api/collections/{created.json()['id']}/", {"media_files": [f.pk for f in files]}, format="json"
    )
    missing = api.post("/api/collections/", {"name": "Other", "media_files": [files[0].pk, 999999]}, format="json")

    assert created.status_code == 201
    assert created.json()["file_count"] == 2
    assert changed.json()["file_count"] == 3
    assert missing.json() == {"media_files": ["There is no media file with the id(s) 999999."]}
    assert Collection.objects.count() == 1
