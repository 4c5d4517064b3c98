"""The source MMIF a media file starts its run with."""

from mmif import Document, Mmif

from batches.models import MediaFile
from clams_apps.metadata import MMIF_DOCUMENT_TYPES


def source_mmif(media_file: MediaFile) -> str:
    """A MMIF (JSON text) with one document of the file's type, MIME type and location, and no views."""
    document = Document()
    document.at_type = MMIF_DOCUMENT_TYPES[media_file.document_type]
    document.id = "d1"
    document.properties.mime = media_file.mime_type
    document.properties.location = media_file.location
    mmif = Mmif(validate=False)
    mmif.add_document(document)
    return mmif.serialize()
