"""Chowda's progress extension for CLAMS apps: an app may say how far it has got with a file.

CLAMS apps answer only when done. An app that wants to show real progress declares, in its metadata's
``more``, the key ``chowda.progress`` with a path relative to its endpoint (``metadata.add_more(
"chowda.progress", "progress")`` in clams-python), and answers ``GET <endpoint>/<path>?location=<URI>``
with ``{"progress": 0.42, "message": "frame 420 of 1000"}`` while it works on the document at that
location (``progress`` from 0 to 1; ``message`` optional), or 404 when it is not working on it.
docs/reports.md describes it for app authors.

Asked only while a live page builds its snapshot, for at most ``MAX_ASKED`` running steps, each with
a short timeout; anything but a good answer means "no figure", and the page shows the estimate.
"""

import logging
from urllib.parse import urljoin

import requests
from django.conf import settings

from clams_apps.url_policy import UrlRefused, check_app_url

logger = logging.getLogger(__name__)

METADATA_KEY = "chowda.progress"
MAX_ASKED = 10


def progress_path(metadata: dict | None) -> str | None:
    """The path of the app's progress endpoint, or None if the app does not report progress."""
    path = ((metadata or {}).get("more") or {}).get(METADATA_KEY)
    return path if isinstance(path, str) and path else None


def reported_progress(endpoint: str, path: str, location: str) -> dict | None:
    """What the app says about the file at ``location``: ``{"progress": 0..1, "message": str}``, or None."""
    url = urljoin(endpoint if endpoint.endswith("/") else endpoint + "/", path.lstrip("/"))
    try:
        check_app_url(url)
        # Not followed: a redirect would lead past the URL check above.
        response = requests.get(
            url, params={"location": location}, timeout=settings.APP_PROGRESS_TIMEOUT, allow_redirects=False
        )
        if response.status_code != 200:
            return None
        answer = response.json()
        progress = float(answer["progress"])
    except (UrlRefused, requests.RequestException, ValueError, KeyError, TypeError) as exc:
        logger.debug("No progress from %s for %s: %s", url, location, exc)
        return None
    if not 0 <= progress <= 1:
        return None
    return {"progress": progress, "message": str(answer.get("message") or "")[:200]}
