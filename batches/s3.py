"""s3:// media locations: the client for the archive's S3-compatible store, and the object a location names."""

from urllib.parse import unquote, urlsplit

import boto3
from django.conf import settings


def s3_media(location: str):
    """A client for ``CHOWDA_S3_ENDPOINT_URL`` (credentials from the standard AWS_* variables) and the
    ``Bucket`` and ``Key`` that the s3:// ``location`` names, as boto3's object calls take them."""
    parts = urlsplit(location)
    client = boto3.client("s3", endpoint_url=settings.S3_ENDPOINT_URL)
    return client, {"Bucket": parts.netloc, "Key": unquote(parts.path.lstrip("/"))}
