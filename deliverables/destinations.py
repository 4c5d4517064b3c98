"""Where deliveries go: the destinations an operator configured by name (``CHOWDA_DELIVERY_DESTINATIONS``), each
a folder on this machine or an S3-compatible bucket and prefix. A curator chooses a name, never a path."""

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import boto3
from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings


class DestinationError(Exception):
    """A destination is unknown, misconfigured or cannot be written; the message says what to do."""


def destination_names() -> list[str]:
    return sorted(settings.DELIVERY_DESTINATIONS)


def destination_choices() -> list[tuple[str, str]]:
    return [(name, f"{name} ({settings.DELIVERY_DESTINATIONS[name]})") for name in destination_names()]


@dataclass
class Folder:
    """A folder on this machine; each file is written beside its final name and then renamed over it, so a
    re-delivery replaces a file in one step and a reader never sees half of one."""

    root: Path

    @property
    def target(self) -> str:
        return str(self.root)

    def check(self, folder: str) -> None:
        try:
            (self.root / folder).mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DestinationError(
                f"Cannot write to the folder {self.root / folder}: {exc.strerror or exc}. Ask an operator to "
                "create it or let Chowda write there."
            ) from None

    def put(self, name: str, data: bytes) -> None:
        path = self.root / name
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(data)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise


@dataclass
class Bucket:
    """A bucket and prefix of an S3-compatible store: the endpoint comes from CHOWDA_DELIVERY_S3_ENDPOINT_URL
    (empty: AWS itself), the credentials from the standard AWS_* environment variables."""

    bucket: str
    prefix: str

    @property
    def target(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}".rstrip("/")

    def __post_init__(self):
        self.client = boto3.client("s3", endpoint_url=settings.DELIVERY_S3_ENDPOINT_URL or None)

    def key(self, name: str) -> str:
        return f"{self.prefix.strip('/')}/{name}".lstrip("/")

    def check(self, folder: str) -> None:
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except (BotoCoreError, ClientError) as exc:
            raise DestinationError(
                f"Cannot reach the bucket {self.bucket}: {exc}. Check that it exists and that the AWS_* "
                "credentials and CHOWDA_DELIVERY_S3_ENDPOINT_URL are right."
            ) from None

    def put(self, name: str, data: bytes) -> None:
        try:
            self.client.put_object(Bucket=self.bucket, Key=self.key(name), Body=data)
        except (BotoCoreError, ClientError) as exc:
            raise OSError(f"the bucket {self.bucket} refused {self.key(name)}: {exc}") from None


def open_destination(name: str) -> Folder | Bucket:
    """The destination configured under ``name``. Raises DestinationError when there is none or its
    configuration is not a folder path or an s3:// URI."""
    configured = settings.DELIVERY_DESTINATIONS
    if name not in configured:
        if not configured:
            raise DestinationError(
                f"There is no delivery destination called {name!r}: none is configured; ask an operator to set "
                "CHOWDA_DELIVERY_DESTINATIONS."
            )
        raise DestinationError(
            f"There is no delivery destination called {name!r}: choose one of {', '.join(destination_names())}."
        )
    value = configured[name]
    parts = urlsplit(value)
    if parts.scheme == "s3" and parts.netloc:
        return Bucket(parts.netloc, parts.path.strip("/"))
    if parts.scheme in ("", "file") and parts.path.startswith("/"):
        return Folder(Path(parts.path))
    raise DestinationError(
        f"The delivery destination {name!r} is {value!r}, which is neither an absolute folder path nor an "
        "s3://bucket/prefix URI: ask an operator to correct CHOWDA_DELIVERY_DESTINATIONS."
    )
