"""One POST of a MMIF to a CLAMS app, and what its answer means.

Every outcome is one of three kinds (docs/architecture.md): the call
succeeded, failed in a way worth trying again (transient), or failed for good.
Messages name the app and its URL, so a curator can act on them.
"""

import contextlib
import io
import mmap
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import IO, Literal

import requests
from django.conf import settings

from clams_apps.client import connection_reason
from clams_apps.url_policy import UrlRefused, check_app_url
from runs import mmif_check

TRANSIENT_STATUSES = {429, 502, 503, 504}
# Answers larger than this are spooled to disk rather than kept in memory.
SPOOL_IN_MEMORY = 5 * 1024 * 1024
CHUNK = 1024 * 1024

_local = threading.local()


def _session() -> requests.Session:
    """One HTTP session (and connection pool) per worker thread: sessions are not thread-safe."""
    if not hasattr(_local, "session"):
        _local.session = requests.Session()
    return _local.session


@dataclass
class Answer:
    # "stopped": a job Chowda ended because its run was cancelled or sent again; "wait": a job whose cluster could
    # not be reached, sent again later without counting as an attempt (runs/job_call.py).
    kind: Literal["succeeded", "transient", "failed", "stopped", "wait"]
    message: str = ""
    http_status: int | None = None
    duration: float | None = None
    stack_trace: str = ""
    # The answer's MMIF: the output when it succeeded, the error MMIF when the app failed.
    body: IO[bytes] | None = None
    summary: dict = field(default_factory=dict)
    # Chowda stopped waiting, but the app goes on working on the request (a CLAMS app cannot be told to stop).
    abandoned: bool = False
    # A job app's stderr (or its pod's log), last lines: kept with the step.
    log_tail: str = ""


def post_mmif(
    *,
    app_name: str,
    endpoint: str,
    timeout: float,
    mmif: IO[bytes],
    query: list[tuple[str, str]],
    known_view_ids: set[str],
    answer_as_kept: Callable[[Iterable[bytes]], Iterable[bytes]] | None = None,
    required_inputs: tuple[tuple[str, ...], ...] | None = None,
) -> Answer:
    """POST the MMIF to the app and classify its answer. Never raises for anything the app does.

    ``answer_as_kept`` rewrites the answer's bytes as they arrive (a staged copy's location back to the media
    file's own: runs/staging.py), before it is checked and kept. ``required_inputs``: the input types the app
    declares (``AppMetadata.required_inputs``), for the summary to tell whether an app that added nothing had
    what it reads (``mmif_check.summarise``).
    """
    who = f"App '{app_name}' at {endpoint}"
    try:
        # Again at every call: a host name can be pointed elsewhere after the app was registered.
        check_app_url(endpoint)
    except UrlRefused as exc:
        return Answer("failed", f"{who} was not called: {exc}")
    started = time.monotonic()
    try:
        response = _session().post(
            endpoint,
            params=query,
            data=mmif,
            headers={"Content-Type": "application/json", "Accept": "application/json"},
            timeout=(settings.APP_CONNECT_TIMEOUT, timeout),
            stream=True,
            # Not followed: a redirect would send the MMIF past the URL check above, to any address.
            allow_redirects=False,
        )
        with response:
            chunks = response.iter_content(CHUNK)
            body = spool(answer_as_kept(chunks) if answer_as_kept else chunks)
    except requests.ConnectTimeout:
        return Answer(
            "transient", f"{who} did not accept a connection within {settings.APP_CONNECT_TIMEOUT:g} seconds."
        )
    except requests.ReadTimeout:
        return Answer("transient", f"{who} did not answer within {timeout:g} seconds (its timeout).", abandoned=True)
    except requests.ConnectionError as exc:
        return Answer("transient", f"{who} cannot be reached: {connection_reason(exc)}.")
    except requests.RequestException as exc:
        return Answer("failed", f"{who} could not be called: {exc}.")
    duration = time.monotonic() - started
    status = response.status_code

    if status in TRANSIENT_STATUSES:
        return Answer(
            "transient",
            f"{who} answered HTTP {status} ({response.reason}); it is busy or restarting.",
            http_status=status,
            duration=duration,
        )
    if response.is_redirect:
        return Answer(
            "failed",
            f"{who} answered HTTP {status}, redirecting to {response.headers.get('Location', 'nowhere')}; "
            "Chowda does not follow redirects: register the app by the address it redirects to.",
            http_status=status,
            duration=duration,
        )
    answer = _read_mmif(who, status, body, known_view_ids, required_inputs)
    answer.http_status, answer.duration = status, duration
    return answer


def spool(chunks: Iterable[bytes]) -> IO[bytes]:
    """The answer's body: in memory while small, in a temporary file once it passes SPOOL_IN_MEMORY."""
    body = io.BytesIO()
    for chunk in chunks:
        if isinstance(body, io.BytesIO) and body.tell() + len(chunk) > SPOOL_IN_MEMORY:
            on_disk = tempfile.TemporaryFile()  # noqa: SIM115 (the caller closes it)
            on_disk.write(body.getbuffer())
            body = on_disk
        body.write(chunk)
    body.seek(0)
    return body


@contextlib.contextmanager
def contents_of(body: IO[bytes]):
    """The body's bytes to read: an answer on disk is mapped, not copied, into memory."""
    if isinstance(body, io.BytesIO):
        with body.getbuffer() as view:
            yield view
        return
    with mmap.mmap(body.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
        yield mapped


def _read_mmif(
    who: str, status: int, body: IO[bytes], known_view_ids: set[str], required_inputs: tuple | None = None
) -> Answer:
    with contents_of(body) as contents:
        try:
            answer = mmif_check.check(contents)
        except mmif_check.NotJson:
            return _not_json(who, status, bytes(contents[:300]))
        except mmif_check.NotMmif as exc:
            if status != 200:
                return Answer("failed", f"{who} answered HTTP {status} with JSON that is not MMIF ({exc}).")
            return Answer("failed", f"{who} answered JSON that is not valid MMIF: {exc}.")
    return judge_views(
        who,
        answer,
        body,
        known_view_ids,
        required_inputs,
        ok=status == 200,
        not_ok=f"{who} answered HTTP {status} with MMIF but no error view saying why.",
    )


def judge_views(
    who: str,
    answer,
    body: IO[bytes],
    known_view_ids: set[str],
    required_inputs: tuple | None,
    *,
    ok: bool,
    not_ok: str,
    verb: str = "answered",
) -> Answer:
    """What a MMIF the app gave back means, for a service (``ok``: HTTP 200) and a job (``ok``: exit code 0)
    alike: the failure its error view tells, or its new views' summary. ``not_ok``: the sentence for an app
    that ended badly without an error view; ``verb``: how the app gave the MMIF back."""
    views = answer.views
    new_views = [v for v in views if v.id not in known_view_ids]
    error_view = next((v for v in reversed(views) if mmif_check.error_of(v) is not None), None)
    if error_view is not None and (error_view.id not in known_view_ids or not ok):
        error = mmif_check.error_of(error_view)
        body.seek(0)
        return Answer(
            "failed",
            f"{who} failed: {error.message}",
            stack_trace=error.stackTrace or "",
            body=body,
        )
    if not ok:
        return Answer("failed", not_ok)
    if not new_views:
        return Answer("failed", f"{who} {verb} MMIF without adding a view: it did no work on this file.")
    body.seek(0)
    summary = mmif_check.summarise(views, new_views, documents=answer.documents, required_inputs=required_inputs)
    return Answer("succeeded", body=body, summary=summary)


def _not_json(who: str, status: int, raw: bytes) -> Answer:
    text = raw[:300].decode("utf-8", errors="replace").strip()
    if status == 200:
        return Answer("failed", f"{who} answered something that is not JSON: {text!r}.")
    if text.startswith("Invalid input data"):
        return Answer("failed", f"{who} refused the input MMIF (HTTP {status}): {text}")
    return Answer("failed", f"{who} answered HTTP {status}: {text or 'an empty body'}.")
