"""A small client for Sony Ci's REST API: list a workspace's assets page by page, and sign a download link.

It is a pure module (``requests`` only, nothing of Django or Chowda), so a sync task, a management
command or a test can use it alike. Every failure is a :class:`SonyCiError` whose text is a sentence
for a curator; the password, the client secret and the access token never appear in a message or a log.

The wire shapes were checked against public sources, not guessed (``WGBH-MLA/sonyci`` at 8c0c11f80536,
``WGBH-MLA/chowda`` at 52d448e549c2):

* Token -- ``WGBH-MLA/sonyci`` ``sonyci/utils.py`` (``get_token``) and ``sonyci/sonyci.py`` (``oauth``):
  ``POST https://api.cimediacloud.com/oauth2/token`` with HTTP Basic auth of (username, password) and the
  form ``grant_type=password&client_id=...&client_secret=...``. The recorded answer
  (``tests/vhs/tests.test_sonyci/test_token.yaml``) is ``{"access_token": ..., "expires_in": 86400,
  "token_type": "bearer", "refresh_token": ...}``; a bad client id or secret is recorded
  (``tests/vhs/test_cli_login/test_bad_login.yaml``) as 401 ``{"error": "invalid_client",
  "error_description": "Invalid client id and client secret combination."}``.
* Workspace contents -- ``WGBH-MLA/chowda`` ``chowda/flows/ingest.py`` (``get_batch``) asks
  ``workspaces/{id}/contents?kind=asset&limit=100&fields=id,name,type,size,thumbnails,format&offset={n*100}``
  and reads ``count`` from ``...&limit=1``. The recorded page (``WGBH-MLA/sonyci``
  ``tests/vhs/tests.test_sonyci/test_workspace_contents.yaml``) is ``{"limit": 50, "offset": 0, "count": 79,
  "kind": "All", "type": ["All"], "order": {...}, "items": [...]}``; an asset item carries ``"id"``,
  ``"name"`` (e.g. ``"sample_file.txt"``), ``"size"`` (bytes), ``"thumbnails"`` (a list of ``{"type",
  "location", "size", "width", "height"}``), ``"type"`` (``"Video"``, ``"Document"``...), ``"format"``
  (``"mp4"``, ``"txt"``) and ``"kind": "Asset"``; without ``kind=asset`` folders come too
  (``"kind": "Folder"``), which this client skips.
* Download -- ``WGBH-MLA/sonyci`` ``asset_download`` is ``GET /assets/{id}/download``; the recorded answer
  (``tests/vhs/tests.test_sonyci/test_asset_download.yaml``) is ``{"location": "https://cdn01.cimediacloud.com/
  cifiles/{id}/{name}?...&Policy=...&Signature=...&Key-Pair-Id=...", "id": ..., "size": ..., "proxies": [...],
  "thumbnails": [...]}``, a CloudFront link that expires three hours later (its policy's ``DateLessThan``).
  It is a credential for a while: never store it and never log it.

Not in those sources, so written to be lenient: the body of a 4xx/5xx from the API (only its status is
used), the answer to a wrong username or password (400 or 401 are both read as "refused").
"""

from __future__ import annotations

import logging
import mimetypes
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import quote, urlsplit

import requests

log = logging.getLogger(__name__)

CONTENT_FIELDS = "id,name,type,size,thumbnails,format"
# A token is renewed this long before Sony Ci says it expires, so a page never races its expiry.
TOKEN_MARGIN = 60.0
OAUTH_ERROR_CODE = re.compile(r"[a-z_]{1,40}")


class SonyCiError(Exception):
    """A sentence for a curator: what went wrong (naming the workspace, the page / offset, the HTTP status)
    and what to do."""


@dataclass(frozen=True)
class SonyCiItem:
    """One asset of a workspace, as a page of its contents lists it."""

    asset_id: str
    name: str  # the asset's name, e.g. "cpb-aacip-123-45678.mp4"
    kind: str  # Sony Ci's "type" e.g. "Video", "Audio", "Image", "Document"
    size: int | None
    mime: str  # best guess from the name / format (mimetypes), "" if unknown


@dataclass(frozen=True)
class SonyCiAccount:
    """How to sign in to Sony Ci; the password and the client secret stay out of its repr."""

    username: str
    password: str = field(repr=False)
    client_id: str
    client_secret: str = field(repr=False)
    api_url: str = "https://api.cimediacloud.com"  # base, no trailing slash
    token_url: str = "https://api.cimediacloud.com/oauth2/token"
    timeout: float = 30.0


def guess_mime(name: str, fmt: str | None = None) -> str:
    """The media type an asset's name (or else its Sony Ci format, e.g. "mp4") suggests; "" if neither does."""
    guessed = mimetypes.guess_type(name, strict=False)[0]
    if not guessed and fmt and re.fullmatch(r"[A-Za-z0-9]{1,10}", fmt):
        guessed = mimetypes.guess_type(f"asset.{fmt}", strict=False)[0]
    return guessed or ""


def _host(url: str) -> str:
    """Where a URL points, without any path, query or user info, for a message."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "an unreadable address"
    if not parts.hostname:
        return "an address without a host"
    return f"{parts.hostname}:{port}" if port else parts.hostname


def _seconds(timeout: float) -> str:
    return f"{timeout:g} second" + ("" if timeout == 1 else "s")


class SonyCi:
    """A Sony Ci session for one account: gets a token when first needed and renews it once on a 401."""

    def __init__(self, account: SonyCiAccount, session: requests.Session | None = None):
        self.account = account
        self.session = session or requests.Session()
        self._token: str | None = None
        self._token_expires = 0.0

    def __repr__(self) -> str:
        return f"SonyCi({self.account.username!r} at {_host(self.account.api_url)})"

    # -- the token -------------------------------------------------------------------------------

    def _fetch_token(self) -> str:
        """Sign in with the password grant, as Sony Ci expects, and keep the token."""
        account = self.account
        where = f"Sony Ci's sign-in service at {_host(account.token_url)}"
        try:
            response = self.session.post(
                account.token_url,
                auth=(account.username, account.password),
                data={
                    "grant_type": "password",
                    "client_id": account.client_id,
                    "client_secret": account.client_secret,
                },
                headers={"Accept": "application/json"},
                timeout=account.timeout,
                allow_redirects=False,
            )
        except requests.Timeout:
            raise SonyCiError(
                f"{where} did not answer within {_seconds(account.timeout)}; try the sync again later."
            ) from None
        except requests.RequestException:
            raise SonyCiError(
                f"Chowda could not connect to {where}; check the network and the source's Sony Ci token URL, "
                "then try the sync again."
            ) from None
        status = response.status_code
        if status in (400, 401, 403):
            reason = ""
            try:
                code = response.json().get("error")
            except (ValueError, AttributeError):
                code = None
            if isinstance(code, str) and OAUTH_ERROR_CODE.fullmatch(code):
                reason = f" ({code})"
            raise SonyCiError(
                f"Sony Ci refused the credentials of user {account.username!r}: the sign-in answered "
                f"{status}{reason}; check the source's Sony Ci credentials (username, password, client id "
                "and client secret)."
            )
        if 300 <= status < 400:
            raise SonyCiError(
                f"{where} answered {status}, a redirect to {_host(response.headers.get('Location', '?'))}; Chowda "
                "does not send credentials on a redirect, so check the source's Sony Ci token URL."
            )
        if status != 200:
            raise SonyCiError(f"{where} answered {status}; try the sync again later.")
        try:
            answer = response.json()
        except ValueError:
            answer = None
        token = answer.get("access_token") if isinstance(answer, dict) else None
        if not isinstance(token, str) or not token:
            raise SonyCiError(
                f"{where} answered 200 without an access token, which is not what Sony Ci sends; check the "
                "source's Sony Ci token URL."
            )
        expires_in = answer.get("expires_in")
        lifetime = float(expires_in) if isinstance(expires_in, int | float) and expires_in > 0 else 3600.0
        self._token = token
        self._token_expires = time.monotonic() + max(lifetime - TOKEN_MARGIN, lifetime / 2)
        log.debug("Signed in to Sony Ci as %s; the token lasts %d s.", account.username, lifetime)
        return token

    def _current_token(self) -> str:
        if self._token is None or time.monotonic() >= self._token_expires:
            return self._fetch_token()
        return self._token

    # -- requests --------------------------------------------------------------------------------

    def _get_json(self, path: str, params: dict | None, what: str, advice: str, missing: str) -> dict:
        """GET one API resource as a JSON object.

        ``what`` names it in a sentence ("page 3 (offset 200) of workspace W"), ``advice`` says what to do
        after a passing failure and ``missing`` what to do after a 404.
        """
        account = self.account
        url = f"{account.api_url.rstrip('/')}/{path}"
        response = None
        for attempt in (1, 2):
            token = self._current_token()
            try:
                response = self.session.get(
                    url,
                    params=params,
                    headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
                    timeout=account.timeout,
                    allow_redirects=False,
                )
            except requests.Timeout:
                raise SonyCiError(
                    f"Sony Ci did not answer within {_seconds(account.timeout)} for {what}; {advice}"
                ) from None
            except requests.RequestException:
                raise SonyCiError(
                    f"Chowda could not connect to Sony Ci at {_host(account.api_url)} for {what}; check the network "
                    "and the source's Sony Ci API URL, then try again."
                ) from None
            if response.status_code != 401 or attempt == 2:
                break
            log.info("Sony Ci answered 401 for %s; signing in again once.", what)
            self._token = None
        status = response.status_code
        if status == 401:
            raise SonyCiError(
                f"Sony Ci refused a fresh token for {what} (401); check the source's Sony Ci credentials and that "
                "the account may read this workspace."
            )
        if status == 403:
            raise SonyCiError(
                f"Sony Ci answered 403 for {what}: the account may not read it; ask a Sony Ci administrator to give "
                f"user {account.username!r} access."
            )
        if status == 404:
            raise SonyCiError(
                f"Sony Ci answered 404 for {what}: it does not exist or the account cannot see it; {missing}"
            )
        if status == 429:
            wait = response.headers.get("Retry-After", "")
            later = f"in {wait} seconds" if wait.isdigit() else "later"
            raise SonyCiError(f"Sony Ci is limiting Chowda's requests (429) at {what}; try again {later}.")
        if 300 <= status < 400:
            raise SonyCiError(
                f"Sony Ci answered {status} for {what}, a redirect to {_host(response.headers.get('Location', '?'))}; "
                "Chowda does not send its token on a redirect, so check the source's Sony Ci API URL."
            )
        if status != 200:
            raise SonyCiError(f"Sony Ci answered {status} for {what}; {advice}")
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if not isinstance(answer, dict):
            raise SonyCiError(f"Sony Ci answered 200 for {what} but not with a JSON object; {advice}")
        return answer

    # -- the API ---------------------------------------------------------------------------------

    def pages(self, workspace_id: str, *, page_size: int = 100) -> Iterator[list[SonyCiItem]]:
        """Every asset of the workspace, one list per page.

        GET {api_url}/workspaces/{id}/contents?kind=asset&limit=100&offset=N&fields=id,name,type,size,thumbnails,format,
        until a page is short / the offset reaches the count. Gets a token first (lazily) and refreshes it
        once on a 401.

        The next offset is this one plus the items answered, so a server that caps ``limit`` below
        ``page_size`` loses nothing; when the answer has a ``count`` paging stops at it, otherwise at a
        short page. An empty workspace yields no page. Folders and items without an id are skipped.
        """
        if not workspace_id:
            raise SonyCiError("The source has no Sony Ci workspace id; set it before syncing.")
        if page_size < 1:
            raise SonyCiError(f"A page of Sony Ci assets must hold at least one asset, not {page_size}.")
        path = f"workspaces/{quote(workspace_id, safe='')}/contents"
        offset, page = 0, 1
        while True:
            what = f"page {page} (offset {offset}) of workspace {workspace_id}"
            answer = self._get_json(
                path,
                {"kind": "asset", "limit": page_size, "offset": offset, "fields": CONTENT_FIELDS},
                what,
                "try the sync again later.",
                "check the source's Sony Ci workspace id.",
            )
            raw = answer.get("items")
            if not isinstance(raw, list):
                raise SonyCiError(f"Sony Ci answered {what} without a list of items; try the sync again later.")
            answered = answer.get("offset", offset)
            if answered != offset:
                # A page that is not the one asked for would list assets twice, or page forever.
                raise SonyCiError(
                    f"Sony Ci answered {what} with the page at offset {answered} instead; try the sync again later."
                )
            items = [item for item in (self._item(entry, what) for entry in raw) if item is not None]
            log.debug("Sony Ci listed %d items on %s.", len(raw), what)
            if raw:
                yield items
            count = answer.get("count")
            offset += len(raw)
            if not raw:
                return
            if isinstance(count, int) and not isinstance(count, bool):
                if offset >= count:
                    return
            elif len(raw) < page_size:
                return
            page += 1

    @staticmethod
    def _item(entry: object, what: str) -> SonyCiItem | None:
        """An asset entry of a page as a SonyCiItem; None (logged) for a folder or an entry without an id."""
        if not isinstance(entry, dict):
            log.warning("Sony Ci listed something other than an object on %s; skipped.", what)
            return None
        kind = entry.get("kind")
        if isinstance(kind, str) and kind.lower() != "asset":
            return None
        asset_id, name = entry.get("id"), entry.get("name")
        if not isinstance(asset_id, str) or not asset_id:
            log.warning("Sony Ci listed an asset without an id on %s; skipped.", what)
            return None
        name = name if isinstance(name, str) else ""
        size = entry.get("size")
        fmt = entry.get("format")
        return SonyCiItem(
            asset_id=asset_id,
            name=name,
            kind=entry.get("type") if isinstance(entry.get("type"), str) else "",
            size=size if isinstance(size, int) and not isinstance(size, bool) and size >= 0 else None,
            mime=guess_mime(name, fmt if isinstance(fmt, str) else None),
        )

    def download_url(self, asset_id: str) -> str:
        """GET {api_url}/assets/{asset_id}/download -> the signed `location` URL (expires; never store it)."""
        if not asset_id:
            raise SonyCiError(
                "A Sony Ci download link needs an asset id; this media file has none, so sync the source again."
            )
        what = f"the download link of asset {asset_id}"
        answer = self._get_json(
            f"assets/{quote(asset_id, safe='')}/download",
            None,
            what,
            "try again later.",
            "the asset may have been deleted or moved, so sync the source again.",
        )
        location = answer.get("location")
        if not isinstance(location, str) or urlsplit(location).scheme not in ("http", "https"):
            raise SonyCiError(f"Sony Ci answered {what} without a link to download; try again later.")
        return location
