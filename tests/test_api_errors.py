"""Bad requests get a 400 or 413 with a sentence, as JSON; never a 500."""

import pytest

from batches.models import MediaFile
from tests.factories import ClamsAppFactory, MediaFileFactory, RunFactory

pytestmark = pytest.mark.django_db


def post_raw(api, url, body: bytes, content_type="application/json"):
    return api.generic("POST", url, body, content_type=content_type)


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (b'{"name": ', "The request body is not valid JSON: Expecting value: line 1 column 10 (char 9)."),
        (b'{"name": NaN}', "The request body is not valid JSON: NaN is not a JSON value."),
        (b"\xff\xfe", "The request body is not utf-8 text; send JSON encoded as UTF-8."),
        (b"[" * 100_000 + b"]" * 100_000, "The request body is not valid JSON: it is nested too deeply."),
    ],
    ids=["truncated", "NaN", "not UTF-8", "too deep"],
)
def test_bad_json_is_a_400_that_says_what_is_wrong(api, body, detail):
    response = post_raw(api, "/api/pipelines/", body)

    assert response.status_code == 400
    assert response.json() == {"detail": detail}


def test_a_body_that_is_not_an_object_is_a_400(api):
    response = api.post("/api/batches/", [1, 2], format="json")

    assert response.status_code == 400
    assert response.json() == {"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]}


def test_wrong_types_are_reported_per_field(api):
    response = api.post(
        "/api/batches/", {"name": ["x"], "pipeline": "abc", "media_files": "1,2", "input_batch": 1.5}, format="json"
    )

    assert response.status_code == 400
    body = response.json()
    assert body["name"] == ["Not a valid string."]
    assert body["pipeline"] == ["Give the pipeline's id as a whole number, not str."]
    assert body["media_files"] == ['Expected a list of items but got type "str".']
    assert list(body) == ["name", "pipeline", "input_batch", "media_files"]


def test_unknown_fields_are_refused_so_typos_do_not_pass_silently(api):
    response = api.post("/api/batches/", {"name": "Nightly", "pipline": 3}, format="json")

    assert response.status_code == 400
    assert response.json()["pipline"][0].startswith("There is no field 'pipline' here; the fields you can send are ")


@pytest.mark.parametrize(
    "content_type", ["application/json", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"]
)
def test_an_oversized_body_is_a_413(api, settings, content_type):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000

    response = post_raw(api, "/api/media-files/import/", b" " * 1001, content_type)

    assert response.status_code == 413
    assert response.json() == {
        "detail": "The request body is larger than 1,000 bytes, the most Chowda accepts; send less at a time "
        "(for example, import media in several parts)."
    }


def test_an_unsupported_content_type_is_a_415_with_a_sentence(api):
    response = post_raw(api, "/api/batches/", b"name=x", "text/plain")

    assert response.status_code == 415
    assert response.json() == {"detail": 'Unsupported media type "text/plain" in request.'}


def test_nul_characters_in_parameters_are_refused_before_the_database_sees_them(api):
    app = ClamsAppFactory()

    response = api.post(
        "/api/pipelines/", {"name": "P", "steps": [{"app": app.pk, "parameters": {"mode": "fa\x00st"}}]}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["steps"]["0"]["parameters"] == ["Parameters cannot contain NUL characters (\\u0000)."]


def test_deleting_a_media_file_that_has_runs_is_a_409(api):
    media = MediaFileFactory()
    RunFactory.create_batch(2, media_file=media)

    response = api.delete(f"/api/media-files/{media.pk}/")

    assert response.status_code == 409
    assert response.json() == {
        "detail": "This media file cannot be deleted: 2 runs still use it; remove or change them first."
    }


def test_an_unknown_id_is_a_404_that_names_what_is_missing(api):
    response = api.get("/api/pipelines/424242/")

    assert response.status_code == 404
    assert response.json() == {"detail": "There is no pipeline with id 424242."}


def test_page_size_is_configurable_and_capped_at_500(api):
    MediaFile.objects.bulk_create(
        MediaFile(guid=f"cpb-{n}", location=f"file:///m/{n}.mp4", mime_type="video/mp4", document_type="video")
        for n in range(501)
    )

    two = api.get("/api/media-files/", {"page_size": 2}).json()
    capped = api.get("/api/media-files/", {"page_size": 100_000}).json()

    assert (two["count"], len(two["results"])) == (501, 2)
    assert two["next"].endswith("page=2&page_size=2")
    assert len(capped["results"]) == 500
    assert api.get("/api/media-files/", {"page": 999}).json() == {"detail": "Invalid page."}


def test_an_unknown_api_path_is_answered_in_json(client):
    response = client.get("/api/runs/1/steps/-3/mmif/")

    assert response.status_code == 404
    assert response.json()["detail"].startswith("There is no API endpoint at /api/runs/1/steps/-3/mmif/")
