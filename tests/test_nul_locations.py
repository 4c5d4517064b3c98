"""A NUL character in a media location is refused at import, and a record that already has one is answered
with a sentence, never a server error."""

import pytest
from django.urls import reverse

from batches.importer import parse_rows
from batches.models import DocumentType, MediaFile
from batches.services import media_import
from tests.factories import MediaFileFactory, RunFactory

pytestmark = pytest.mark.django_db
NUL = "contains a NUL character"


@pytest.mark.parametrize(
    "location", ["file:///media/tape%00.wav", "http://media.archive.test/tape%00.wav", "s3://archive/tape\x00.wav"]
)
def test_an_import_with_a_nul_in_a_location_names_the_line_and_imports_nothing(location):
    rows = parse_rows(
        f"guid,location,mime\ncpb-aacip-1,file:///media/ok.wav,audio/wav\ncpb-aacip-2,{location},audio/wav\n",
        as_csv=True,
    )

    result = media_import(rows)

    assert [(error.line, NUL in error.reason) for error in result.errors] == [(3, True)]
    assert not MediaFile.objects.exists()


def test_the_api_refuses_a_nul_in_a_location_with_a_sentence(api):
    answer = api.post(
        "/api/media-files/import/",
        {"csv": "guid,location,mime\ncpb-aacip-3,file:///media/a%00.wav,audio/wav\n"},
        format="json",
    )

    assert answer.status_code == 400
    assert NUL in str(answer.json())
    assert not MediaFile.objects.exists()


def test_a_media_file_that_already_has_a_nul_in_its_location_is_answered_with_a_sentence(
    viewer_client, settings, tmp_path
):
    settings.SERVED_MEDIA_ROOT = str(tmp_path)
    media = MediaFileFactory(
        location=f"file://{tmp_path}/tape%00.wav", mime_type="audio/wav", document_type=DocumentType.AUDIO
    )
    run = RunFactory(media_file=media)

    served = viewer_client.get(reverse("findings:media_content", args=[media.pk]))
    page = viewer_client.get(reverse("findings:run_findings", args=[run.pk]))

    assert served.status_code == 404
    assert NUL in served.content.decode()
    assert page.status_code == 200
