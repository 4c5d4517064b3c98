"""Listing a source, page by page: each page a list of ``Item``s, never the whole listing in memory.

Every failure is a ``ListingFailed`` whose message names the source, the page and what answered, and says
what to do; a sync that gets one keeps what it saw and marks nothing missing.
"""

import json
import mimetypes
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import PurePosixPath
from urllib.parse import quote, urljoin

import boto3
import requests
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings

from clams_apps.url_policy import UrlRefused, media_request
from sources.models import SONYCI_API_URL, MediaSource, SourceKind
from sources.sonyci import SonyCi, SonyCiAccount, SonyCiError

# A feed page larger than this is refused rather than read into memory.
FEED_PAGE_LIMIT = 50 * 1024 * 1024


class ListingFailed(Exception):
    """The source cannot be listed (completely); the message is the sentence a curator reads."""


@dataclass(frozen=True)
class Item:
    """One listed file: its name (matched by the GUID rule unless ``guid`` is given), where it is, what it is."""

    name: str
    location: str
    mime: str = ""
    size: int | None = None
    fingerprint: str = ""
    guid: str = ""


@dataclass
class Page:
    """One page of a listing. A feed's page has its URL as ``key``; ``unchanged``: the feed answered 304 Not
    Modified to its ETag, so its items are those the last sync saw on it (``items`` is empty)."""

    items: list[Item]
    key: str = ""
    unchanged: bool = False
    etag: str = ""
    next: str | None = None


def pages(source: MediaSource, *, page_size: int | None = None) -> Iterator[Page]:
    """The source's items, one Page per page as the source gives them. Raises ListingFailed."""
    listers = {SourceKind.S3: _s3_pages, SourceKind.SONYCI: _sonyci_pages, SourceKind.HTTP_FEED: _feed_pages}
    return listers[source.kind](source, page_size)


def guess_mime(name: str) -> str:
    return mimetypes.guess_type(name)[0] or ""


def s3_client(source: MediaSource):
    """A boto3 S3 client for the source: its endpoint (or CHOWDA_S3_ENDPOINT_URL), its credentials' variables
    when it names them, else the worker's own AWS credential chain."""
    keys = {}
    if source.credentials_env:
        keys = {
            "aws_access_key_id": source.credential("ACCESS_KEY_ID") or None,
            "aws_secret_access_key": source.credential("SECRET_ACCESS_KEY") or None,
        }
    return boto3.client(
        "s3",
        endpoint_url=source.endpoint_url or settings.S3_ENDPOINT_URL,
        config=Config(retries={"max_attempts": 2, "mode": "standard"}, connect_timeout=10, read_timeout=60),
        **keys,
    )


def _s3_pages(source: MediaSource, page_size: int | None) -> Iterator[list[Item]]:
    client = s3_client(source)
    paginator = client.get_paginator("list_objects_v2")
    listing = paginator.paginate(
        Bucket=source.bucket, Prefix=source.prefix, PaginationConfig={"PageSize": page_size or 1000}
    )
    number = 0
    try:
        for number, page in enumerate(listing, start=1):  # noqa: B007 (named in the error below)
            yield Page(
                [
                    Item(
                        name=PurePosixPath(entry["Key"]).name,
                        location=f"s3://{source.bucket}/{quote(entry['Key'])}",
                        mime=guess_mime(entry["Key"]),
                        size=entry.get("Size"),
                        fingerprint=(entry.get("ETag") or "").strip('"'),
                    )
                    for entry in page.get("Contents", [])
                    if not entry["Key"].endswith("/")
                ]
            )
    except ClientError as exc:
        error = exc.response.get("Error", {})
        code, status = error.get("Code", ""), exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        hint = {
            "InvalidAccessKeyId": "the access key id is not known there: check the source's credentials",
            "SignatureDoesNotMatch": "the secret access key is wrong: check the source's credentials",
            "AccessDenied": "the credentials may not list this bucket: check their policy",
            "NoSuchBucket": "there is no such bucket: check the bucket's name and the endpoint",
        }.get(code, "try the sync again later, or check the bucket and the credentials")
        raise ListingFailed(
            f"S3 answered {status} {code} for page {number + 1} of bucket '{source.bucket}' "
            f"(source '{source.name}'): {hint}."
        ) from None
    except BotoCoreError as exc:
        raise ListingFailed(
            f"S3 could not be reached for page {number + 1} of bucket '{source.bucket}' (source '{source.name}'): "
            f"{exc.__class__.__name__}. Check the endpoint URL and the network, then sync again."
        ) from None


def sonyci_client(source: MediaSource) -> SonyCi:
    api = (source.api_url or SONYCI_API_URL).rstrip("/")
    missing = [name for name, _what, required in source.credential_names() if required and not _set(name)]
    if missing or not source.credentials_env:
        raise ListingFailed(
            f"Source '{source.name}' cannot sign in to Sony Ci: the environment variable"
            f"{'s' if len(missing) != 1 else ''} {', '.join(missing) or 'prefix'} "
            f"{'are' if len(missing) != 1 else 'is'} not set for the workers. Set them and restart the workers."
        )
    account = SonyCiAccount(
        username=source.credential("USERNAME"),
        password=source.credential("PASSWORD"),
        client_id=source.credential("CLIENT_ID"),
        client_secret=source.credential("CLIENT_SECRET"),
        api_url=api,
        token_url=f"{api}/oauth2/token",
    )
    return SonyCi(account)


def _set(name: str) -> bool:
    return bool(os.environ.get(name))


def _sonyci_pages(source: MediaSource, page_size: int | None) -> Iterator[list[Item]]:
    client = sonyci_client(source)
    try:
        for page in client.pages(source.workspace_id, page_size=page_size or 100):
            yield Page(
                [
                    Item(
                        name=asset.name,
                        location=f"sonyci://{source.workspace_id}/{asset.asset_id}",
                        mime=asset.mime or guess_mime(asset.name),
                        size=asset.size,
                        fingerprint=asset.asset_id,
                    )
                    for asset in page
                    if asset.kind.lower() in ("video", "audio")
                ]
            )
    except SonyCiError as exc:
        raise ListingFailed(f"Source '{source.name}': {exc}") from None


def _feed_pages(source: MediaSource, page_size: int | None) -> Iterator[Page]:
    """The feed's pages from its first URL, following "next"; a page whose ETag the last sync kept is asked with
    If-None-Match, and a 304 gives an unchanged page (its "next" as the last sync saw it)."""
    url, number, seen = source.api_url, 0, set()
    token = source.credential("TOKEN")
    known = source.feed_etags or {}
    while url:
        number += 1
        if url in seen:
            raise ListingFailed(
                f"The feed of source '{source.name}' points back to a page it already gave ({url}) at page "
                f'{number}: fix the feed\'s "next" links.'
            )
        seen.add(url)
        etag, following = (known.get(url) or [None, None])[:2]
        page = _feed_page(source, url, number, token, etag)
        if page is None:
            yield Page([], key=url, unchanged=True, etag=etag, next=following)
            url = following
            continue
        body, etag = page
        items, following = _feed_items(source, body, url, number)
        yield Page(items, key=url, etag=etag, next=following)
        url = following


def _feed_page(source: MediaSource, url: str, number: int, token: str, etag: str | None) -> tuple[dict, str] | None:
    """The page's JSON and ETag, or None when it answered 304 Not Modified to ``etag``."""
    headers = {"Accept": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if etag:
        headers["If-None-Match"] = etag
    where = f"page {number} of the feed of source '{source.name}' ({url})"
    try:
        response = media_request("GET", url, timeout=settings.STAGING_TIMEOUT, headers=headers, stream=True)
    except UrlRefused as exc:
        raise ListingFailed(f"Chowda will not read {where}: {exc}") from None
    except requests.RequestException as exc:
        raise ListingFailed(
            f"{where[0].upper()}{where[1:]} could not be read ({exc.__class__.__name__}): "
            "check the feed's server, then sync again."
        ) from None
    with response:
        if response.status_code == 304 and etag:
            return None
        if response.status_code != 200:
            hint = (
                "check the token in the source's credentials variable"
                if response.status_code in (401, 403)
                else "try the sync again later"
            )
            raise ListingFailed(f"The feed answered {response.status_code} for {where}: {hint}.")
        content = response.raw.read(FEED_PAGE_LIMIT + 1, decode_content=True)
        new_etag = response.headers.get("ETag", "")
    if len(content) > FEED_PAGE_LIMIT:
        raise ListingFailed(f"{where[0].upper()}{where[1:]} is larger than 50 MB: split the feed into smaller pages.")
    try:
        body = json.loads(content)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ListingFailed(
            f"{where[0].upper()}{where[1:]} is not JSON ({exc}): the feed must answer "
            '{"items": [...], "next": URL or null}.'
        ) from None
    if not isinstance(body, dict) or not isinstance(body.get("items"), list):
        raise ListingFailed(
            f'{where[0].upper()}{where[1:]} has no "items" list: the feed must answer '
            '{"items": [...], "next": URL or null}.'
        )
    return body, new_etag


def _feed_items(source: MediaSource, body: dict, url: str, number: int) -> tuple[list[Item], str | None]:
    items = []
    for index, entry in enumerate(body["items"], start=1):
        if not isinstance(entry, dict) or not isinstance(entry.get("location"), str):
            raise ListingFailed(
                f"Item {index} of page {number} of the feed of source '{source.name}' has no \"location\": "
                'every item needs "name" or "guid", and "location".'
            )
        name = str(entry.get("name") or entry.get("guid") or "")
        size = entry.get("size")
        items.append(
            Item(
                name=name,
                guid=str(entry.get("guid") or ""),
                location=entry["location"],
                mime=str(entry.get("mime") or guess_mime(name or entry["location"])),
                size=size if isinstance(size, int) and size >= 0 else None,
                fingerprint=str(entry.get("updated") or entry.get("etag") or "")[:200],
            )
        )
    following = body.get("next")
    if following is not None and not isinstance(following, str):
        raise ListingFailed(
            f"Page {number} of the feed of source '{source.name}' has a \"next\" that is not a URL: "
            "it must be a URL or null."
        )
    return items, urljoin(url, following) if following else None
