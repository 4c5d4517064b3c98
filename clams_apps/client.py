"""Talking to CLAMS apps over HTTP. Every request Chowda sends an app goes through here."""

import requests
from django.conf import settings

from clams_apps.metadata import AppMetadata, NotClamsMetadata
from clams_apps.url_policy import UrlRefused, check_app_url


class AppError(Exception):
    """An app could not be reached or answered something unusable; the message says which and why."""


def fetch_metadata(endpoint: str, timeout: float | None = None) -> dict:
    """GET the app's metadata and return its JSON once it parses as CLAMS app metadata.

    Raises AppError with a sentence naming the URL and the reason, without sending anything if the URL
    is one Chowda must not call (clams_apps/url_policy.py).
    """
    timeout = timeout or settings.CLAMS_METADATA_TIMEOUT
    try:
        check_app_url(endpoint)
    except UrlRefused as exc:
        raise AppError(str(exc)) from None
    try:
        # Not followed: a redirect would lead past the check above, to any address.
        response = requests.get(
            endpoint, timeout=timeout, headers={"Accept": "application/json"}, allow_redirects=False
        )
    except requests.ReadTimeout:
        raise AppError(f"The app at {endpoint} did not answer within {timeout:g} seconds.") from None
    except requests.ConnectionError:
        # One sentence whatever the cause (refused, no answer, reset, not HTTP), so that this form
        # cannot be used to tell which ports of a machine are open.
        raise AppError(
            f"Nothing answered at {endpoint} (connection refused or timed out): "
            "check the app is running and the address is right."
        ) from None
    except requests.RequestException as exc:
        raise AppError(f"The app at {endpoint} cannot be asked for its metadata: {exc}.") from None
    if response.status_code != 200:
        raise AppError(
            f"The app at {endpoint} answered HTTP {response.status_code} to GET; "
            "check that the URL is the app's base URL."
        )
    try:
        data = response.json()
    except ValueError:
        raise AppError(f"The app at {endpoint} did not answer JSON, so it is not a CLAMS app.") from None
    try:
        AppMetadata.from_json(data)
    except NotClamsMetadata as exc:
        raise AppError(f"The app at {endpoint} did not answer CLAMS app metadata: {exc}.") from None
    return data


def connection_reason(exc: requests.ConnectionError) -> str:
    """The innermost cause of a connection error, which is what a person can act on."""
    cause: BaseException = exc
    while cause.__cause__ or cause.__context__:
        cause = cause.__cause__ or cause.__context__
    text = str(cause)
    if "Connection refused" in text:
        return "connection refused (is the app running, and on this port?)"
    if "Name or service not known" in text or "nodename nor servname" in text:
        return "the host name does not resolve"
    if "Connection reset" in text or "Connection aborted" in text or "RemoteDisconnected" in text:
        return "the connection was reset (did the app crash or restart?)"
    return text or exc.__class__.__name__
