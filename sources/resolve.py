"""sonyci://WORKSPACE/ASSET locations: a Sony Ci asset, made a fresh signed download URL when it is read.

The signed URL expires (Sony Ci's ``assets/{id}/download`` answers it), so it is asked for each time the
media is staged or its thumbnail made, and never stored: the media file keeps its sonyci:// location.
"""

from urllib.parse import urlsplit

from batches.locations import Unresolved
from sources.listing import ListingFailed, sonyci_client
from sources.models import MediaSource, SourceKind
from sources.sonyci import SonyCiError

SONYCI_SCHEME = "sonyci"


def check_sonyci_location(value: str) -> str:
    parts = urlsplit(value)
    if not parts.netloc or not parts.path.strip("/") or "/" in parts.path.strip("/"):
        return (
            f"{value!r} is not a valid Sony Ci location: write the workspace id and the asset id, "
            "as in sonyci://WORKSPACE/ASSET."
        )
    return ""


def resolve_sonyci(location: str) -> str:
    parts = urlsplit(location)
    workspace, asset = parts.netloc, parts.path.strip("/")
    source = MediaSource.objects.filter(kind=SourceKind.SONYCI, workspace_id=workspace).order_by("-enabled").first()
    if source is None:
        raise Unresolved(
            f"No media source reads Sony Ci workspace {workspace}, so {location} cannot be fetched: "
            "add the workspace as a media source, with its credentials."
        )
    try:
        return sonyci_client(source).download_url(asset)
    except ListingFailed as exc:
        raise Unresolved(str(exc)) from None
    except SonyCiError as exc:
        raise Unresolved(f"Sony Ci gave no download URL for {location} (source '{source.name}'): {exc}") from None
