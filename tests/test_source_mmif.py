import pytest
from mmif import DocumentTypes, Mmif

from batches.mmif import source_mmif
from tests.factories import MediaFileFactory


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("mime", "document_type", "mmif_type"),
    [
        ("video/mp4", "video", DocumentTypes.VideoDocument),
        ("audio/wav", "audio", DocumentTypes.AudioDocument),
        ("image/jpeg", "image", DocumentTypes.ImageDocument),
        ("text/plain", "text", DocumentTypes.TextDocument),
    ],
)
def test_the_source_mmif_has_one_document_of_the_files_type(mime, document_type, mmif_type):
    media = MediaFileFactory(
        guid="cpb-aacip-1", mime_type=mime, document_type=document_type, location="http://media.test/cpb-aacip-1"
    )

    mmif = Mmif(source_mmif(media))

    [document] = mmif.documents
    assert document.at_type == mmif_type
    assert document.properties.mime == mime
    assert document.location == "http://media.test/cpb-aacip-1"
    assert len(mmif.views) == 0
