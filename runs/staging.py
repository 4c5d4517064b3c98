"""Media staged from where the archive keeps it: a copy in the scratch folder the apps share.

A run whose apps cannot read its media file's location (ClamsApp.media_access) gets, before its first
step, one copy of the file under CHOWDA_SCRATCH_ROOT (``Run.staged_as``: the copy as the apps see it).
The MMIF that Chowda keeps always names the media file's own location: each step swaps the copy's in on
the way to the app and its own back in the answer (``StagedLocation``), so the output of a run stays true
after its copy is gone and can start another batch, be uploaded or delivered. The copy's folder is named
after the media file, so a run sent again, or a retry, finds it and never downloads it twice; it is
removed once no run of that file is active (``scratch_sweep``, on ``runs.signals.run_finished``).
Downloads stream to a ``.part`` file that is renamed when complete, and reserve their size under an
exclusive lock, so the scratch folder never holds more than CHOWDA_SCRATCH_BUDGET bytes: a run whose file
does not fit waits, pending, and the dispatcher sends it again later.
"""

import contextlib
import fcntl
import json
import logging
import os
import re
import shutil
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO
from urllib.parse import unquote, urlsplit

import requests
from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings

from batches import locations
from batches.models import MediaFile
from batches.s3 import s3_media
from clams_apps.models import ClamsApp, MediaAccess
from clams_apps.url_policy import UrlRefused, check_media_path, media_request
from runs import transitions
from runs.app_call import spool
from runs.models import ACTIVE_STATUSES, Run, StepRun

logger = logging.getLogger(__name__)

CHUNK = 1024 * 1024


class StagingFailed(Exception):
    """The media file cannot be fetched; the message names its location and the reason."""


class NoRoom(Exception):
    """The file does not fit in the scratch budget now, or another worker is staging it: try again later."""


@dataclass(frozen=True)
class Staged:
    """Whether the step may go on; ``location``: the staged copy as the apps see it (None: not staged)."""

    ready: bool
    location: str | None = None
    failed: bool = False


def prepare(step: StepRun, token: int) -> Staged:
    """Stage the run's media file if any of its apps cannot read the location, before the step is sent.

    On a file that cannot be fetched, fails the step (and so the run) with a sentence; when the scratch
    budget has no room, gives the run back to the dispatcher for CHOWDA_SCRATCH_WAIT seconds.
    """
    run = step.run
    apps = list(ClamsApp.objects.filter(step_runs__run_id=run.pk).distinct().only("media_access", "media_root"))
    seen_under = staging_root_for(run.media_file.location, apps)
    if seen_under is None:
        return Staged(ready=True)
    try:
        relative = stage(run.media_file)
    except StagingFailed as exc:
        transitions.step_fail(step, token, str(exc), staging_failed=True)
        return Staged(ready=False, failed=True)
    except NoRoom as exc:
        logger.info("Run %s waits to stage its media file: %s", run.pk, exc)
        transitions.run_wait(run.pk, token, retry_in=settings.SCRATCH_WAIT, next_app_id=step.app_id)
        return Staged(ready=False)
    location = f"file://{seen_under.rstrip('/')}/{relative}"
    if run.staged_as != location:
        Run.objects.filter(pk=run.pk).update(staged_as=location)
        run.staged_as = location
    return Staged(ready=True, location=location)


class StagedLocation:
    """A run's media file location and its staged copy's, swapped in a MMIF as it streams: the copy's in what the
    app is sent, the file's own back in what it answers. Both are matched as whole JSON strings, in each of the
    ways a JSON writer may escape them."""

    def __init__(self, own: str, staged: str):
        self.to_app = [(old, _spelling(staged)) for old in _spellings(own)]
        self.from_app = [(old, _spelling(own)) for old in _spellings(staged)]

    def app_input(self, mmif: IO[bytes]) -> IO[bytes]:
        """A copy of the stored MMIF naming the staged copy, to send to the app (in memory while small)."""
        return spool(swapped(iter(lambda: mmif.read(CHUNK), b""), self.to_app))

    def answer(self, chunks: Iterable[bytes]) -> Iterator[bytes]:
        """The app's answer as it streams, naming the media file's own location again."""
        return swapped(chunks, self.from_app)


def _spelling(location: str) -> bytes:
    return json.dumps(location).encode()


def _spellings(location: str) -> list[bytes]:
    """The JSON strings a writer may make of the location: ASCII-escaped or not, with ``/`` escaped or not."""
    plain = [json.dumps(location).encode(), json.dumps(location, ensure_ascii=False).encode()]
    return list(dict.fromkeys(plain + [text.replace(b"/", b"\\/") for text in plain]))


def swapped(chunks: Iterable[bytes], pairs: list[tuple[bytes, bytes]]) -> Iterator[bytes]:
    """The chunks with every ``old`` replaced by its ``new``, also where an ``old`` spans two chunks."""
    for old, new in pairs:
        chunks = _replaced(chunks, old, new)
    return iter(chunks)


def _replaced(chunks: Iterable[bytes], old: bytes, new: bytes) -> Iterator[bytes]:
    keep, carry = len(old) - 1, b""
    for chunk in chunks:
        data, out, start = carry + chunk, [], 0
        while (found := data.find(old, start)) != -1:
            out += [data[start:found], new]
            start = found + len(old)
        # A match may begin in the last len(old) - 1 bytes and end in the next chunk: keep them back.
        settled = max(start, len(data) - keep)
        out.append(data[start:settled])
        carry = data[settled:]
        yield b"".join(out)
    yield carry


def staging_root_for(location: str, apps: Iterable[ClamsApp]) -> str | None:
    """Where the apps see the scratch folder if the location must be staged for one of them, else None.

    An app that reads under a media root always needs a staged copy; one that needs a local file needs one
    unless the location is file://; nothing reads s3:// or sonyci:// (batches/locations.py) itself. The first
    app with a media root decides the path written into the MMIF (the apps of one pipeline must mount the
    scratch folder at one path).
    """
    scheme = urlsplit(location).scheme
    needing = [
        app
        for app in apps
        if app.media_access == MediaAccess.MEDIA_ROOT
        or scheme == "s3"
        or locations.scheme_of(location) is not None
        or (app.media_access == MediaAccess.LOCAL and scheme != "file")
    ]
    if not needing:
        return None
    roots = [app.media_root for app in needing if app.media_access == MediaAccess.MEDIA_ROOT and app.media_root]
    return roots[0] if roots else str(Path(settings.SCRATCH_ROOT).resolve())


def staged_relative_path(media_file: MediaFile) -> str:
    """The copy's path under the scratch folder: one folder per media file, named after its id and GUID."""
    name = Path(unquote(urlsplit(media_file.location).path)).name or media_file.guid
    return f"{media_file.pk}-{_safe(media_file.guid)}/{_safe(name)}"


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", name)


def stage(media_file: MediaFile) -> str:
    """Copy the media file into the scratch folder unless it is there already; returns its relative path.

    Raises StagingFailed (with a sentence) or NoRoom. Never leaves a partial file under the final name.
    Room is claimed before the download whenever the location tells the size on its own (a file's size,
    HTTP HEAD, S3 HEAD), so a run waiting for room asks for the size each time, never opens a download.
    """
    relative = staged_relative_path(media_file)
    target = Path(settings.SCRATCH_ROOT) / relative
    if target.exists():
        return relative
    location = media_file.location
    try:
        # A sonyci:// location becomes a fresh signed URL, read as any other; messages name the location.
        readable = locations.readable(location)
    except locations.Unresolved as exc:
        raise StagingFailed(f"{exc} Then use Retry failed.") from None
    part = None
    size = _size(readable, location)
    if size is not None:
        part = _reserve(target, size, location)
        if part is None:
            return relative  # another worker staged it meanwhile
    try:
        with _source(readable, location) as (streamed_size, chunks):
            if part is None:
                part = _reserve(target, streamed_size, location)
                if part is None:
                    return relative
            with open(part, "r+b") as out:
                for chunk in chunks:
                    out.write(chunk)
                out.truncate()
            part.rename(target)
    except BaseException as exc:
        if part is not None:
            part.unlink(missing_ok=True)  # the reservation goes with the failed copy
        if isinstance(exc, (OSError, requests.RequestException, BotoCoreError)):
            raise StagingFailed(_sentence(location, str(exc))) from None
        raise
    return relative


def _size(location: str, named: str | None = None) -> int | None:
    """The file's size in bytes when the location tells it without sending the file; None when it cannot.

    An unreachable HTTP server fails here with the sentence the download would give; any other answer
    without a size leaves it to the download to say what is wrong.
    """
    parts = urlsplit(location)
    if parts.scheme == "file":
        try:
            return os.stat(check_media_path(location)).st_size
        except (OSError, UrlRefused):
            return None  # the download says why
    if parts.scheme in ("http", "https"):
        response = _http("HEAD", location, named=named)
        length = response.headers.get("Content-Length", "")
        return int(length) if response.ok and length.isdigit() else None
    if parts.scheme == "s3":
        client, where = s3_media(location)
        try:
            answer = client.head_object(**where)
        except (ClientError, BotoCoreError):
            return None
        return int(answer.get("ContentLength") or 0) or None
    return None


def _http(method: str, location: str, *, named: str | None = None, **kwargs) -> requests.Response:
    """The media server's answer, its location and every redirect checked first (clams_apps/url_policy.py);
    raises StagingFailed, with a sentence naming ``named`` (the media file's own location) or ``location``,
    when it is refused or cannot be reached."""
    try:
        return media_request(method, location, timeout=settings.STAGING_TIMEOUT, **kwargs)
    except UrlRefused as exc:
        raise StagingFailed(_sentence(named or location, str(exc).replace(location, named or location))) from None
    except requests.RequestException as exc:
        reason = f"the server cannot be reached ({exc.__class__.__name__})"
        raise StagingFailed(_sentence(named or location, reason)) from None


def _sentence(location: str, reason: str) -> str:
    return (
        f"Could not fetch the media file at {location}: {reason.rstrip('.')}. "
        "Check the location and Chowda's access to it, then use Retry failed."
    )


@contextmanager
def _source(location: str, named: str | None = None) -> Iterator[tuple[int, Iterable[bytes]]]:
    """Open a location for streaming: its size in bytes (0 if unknown) and its chunks. Messages name ``named``
    (the media file's own location, when ``location`` is a signed URL made of it)."""
    parts = urlsplit(location)
    named = named or location
    if parts.scheme == "file":
        try:
            file = open(check_media_path(location), "rb")  # noqa: SIM115 (closed below)
        except UrlRefused as exc:
            raise StagingFailed(_sentence(location, str(exc))) from None
        except OSError as exc:
            raise StagingFailed(_sentence(location, exc.strerror or str(exc))) from None
        with file:
            yield os.fstat(file.fileno()).st_size, iter(lambda: file.read(CHUNK), b"")
    elif parts.scheme in ("http", "https"):
        response = _http("GET", location, named=named, stream=True)
        with response:
            if response.status_code >= 400:
                raise StagingFailed(_sentence(named, f"the server answered HTTP {response.status_code}"))
            yield int(response.headers.get("Content-Length") or 0), response.iter_content(CHUNK)
    elif parts.scheme == "s3":
        client, where = s3_media(location)
        try:
            answer = client.get_object(**where)
        except ClientError as exc:
            error = exc.response.get("Error", {})
            raise StagingFailed(_sentence(location, f"{error.get('Code')}: {error.get('Message')}")) from None
        except BotoCoreError as exc:
            raise StagingFailed(_sentence(location, str(exc))) from None
        body = answer["Body"]
        with body:
            yield int(answer.get("ContentLength") or 0), body.iter_chunks(CHUNK)
    else:
        raise StagingFailed(_sentence(location, "Chowda cannot read this kind of location"))


def _reserve(target: Path, size: int, location: str) -> Path | None:
    """Under the scratch lock, claim ``size`` bytes for the copy as its ``.part`` file; None if it is there.

    Raises NoRoom when it does not fit now or another worker is writing it, StagingFailed when it can never fit.
    """
    budget = settings.SCRATCH_BUDGET
    if size > budget:
        raise StagingFailed(
            _sentence(
                location,
                f"it is {size} bytes, more than the whole scratch budget ({budget} bytes, CHOWDA_SCRATCH_BUDGET)",
            )
        )
    part = target.with_name(target.name + ".part")
    with _locked():
        if target.exists():
            return None
        # A .part that nobody wrote to for a while was left by a worker that stopped.
        if part.exists() and time.time() - part.stat().st_mtime < 2 * settings.STAGING_TIMEOUT:
            raise NoRoom(f"another worker is staging {location}")
        part.unlink(missing_ok=True)
        used = _usage()
        if used + size > budget:
            raise NoRoom(f"{location} needs {size} bytes; {used} of {budget} are in use")
        part.parent.mkdir(parents=True, exist_ok=True)
        with open(part, "wb") as out:
            out.truncate(size)  # the reservation: counted by _usage until the copy replaces it
    return part


def _usage() -> int:
    """Bytes in the scratch folder. A copy finished meanwhile (its .part renamed, outside the lock) or swept is
    counted under the name it had when listed, or not at all: never an error."""
    used = 0
    for path in Path(settings.SCRATCH_ROOT).rglob("*"):
        if path.name == ".lock":
            continue
        with contextlib.suppress(FileNotFoundError):
            if path.is_file():
                used += path.stat().st_size
    return used


@contextmanager
def _locked() -> Iterator[None]:
    """One writer of the scratch folder's bookkeeping at a time, across threads and processes of this host."""
    root = Path(settings.SCRATCH_ROOT)
    root.mkdir(parents=True, exist_ok=True)
    with open(root / ".lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def scratch_sweep(**kwargs) -> int:
    """Remove the staged copies of media files that no active run needs; returns how many folders went.

    Connected to ``runs.signals.run_finished`` (success, failure, cancel); never raises.
    """
    root = Path(settings.SCRATCH_ROOT)
    if not root.is_dir():
        return 0
    try:
        with _locked():
            folders = {}
            for entry in os.scandir(root):
                media_id = entry.name.split("-", 1)[0]
                if entry.is_dir() and media_id.isdigit():
                    folders[int(media_id)] = entry.path
            busy = set(
                Run.objects.filter(media_file_id__in=list(folders), status__in=ACTIVE_STATUSES).values_list(
                    "media_file_id", flat=True
                )
            )
            gone = [path for media_id, path in folders.items() if media_id not in busy]
            for path in gone:
                shutil.rmtree(path, ignore_errors=True)
        return len(gone)
    except Exception:
        logger.exception("Could not sweep the scratch folder %s", root)
        return 0
