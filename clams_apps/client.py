"""Talking to CLAMS apps: over HTTP for a web service (every request Chowda sends an app goes through here), or by
its metadata command for an app run as a job."""

import json
import shlex
import subprocess

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


def metadata_from_command(command: str, timeout: float | None = None) -> dict:
    """Run the app's metadata command (``python metadata.py`` in the CLAMS app template prints the metadata JSON)
    on this machine and return its JSON once it parses as CLAMS app metadata.

    Raises AppError with a sentence naming the command and what went wrong: it could not start, did not end
    within the timeout, failed (with the last lines it printed), or printed something else.
    """
    timeout = timeout or settings.CLAMS_METADATA_TIMEOUT
    try:
        argv = shlex.split(command)
    except ValueError as exc:
        raise AppError(f"The metadata command `{command}` cannot be read: {exc}; check its quotes.") from None
    if not argv:
        raise AppError("The metadata command is empty: give the command that prints the app's metadata JSON.")
    try:
        done = subprocess.run(argv, capture_output=True, timeout=timeout, stdin=subprocess.DEVNULL, check=False)
    except OSError as exc:
        raise AppError(f"The metadata command `{command}` could not start: {exc.strerror or exc}.") from None
    except subprocess.TimeoutExpired:
        raise AppError(f"The metadata command `{command}` did not finish within {timeout:g} seconds.") from None
    said = "\n".join(done.stderr.decode("utf-8", errors="replace").strip().splitlines()[-5:])
    if done.returncode != 0:
        raise AppError(
            f"The metadata command `{command}` failed (exit code {done.returncode})"
            + (f"; it said: {said}" if said else ".")
        )
    return metadata_from_json(done.stdout, f"The metadata command `{command}`")


def metadata_from_json(text: bytes | str | dict, who: str = "The pasted metadata") -> dict:
    """Parse the app metadata JSON an app printed or a curator pasted (or sent as a JSON object); raises AppError
    with a sentence."""
    try:
        data = text if isinstance(text, dict) else json.loads(text)
    except ValueError as exc:
        raise AppError(f"{who} is not JSON ({exc}); it should be what the app's metadata.py prints.") from None
    try:
        AppMetadata.from_json(data)
    except NotClamsMetadata as exc:
        raise AppError(f"{who} is not CLAMS app metadata: {exc}.") from None
    return data
