"""Batches that start from MMIF made before: from earlier runs, from each file's latest result, or uploaded.

A batch with inputs (``BatchInput``) starts each file from its own, so an app whose output is already in
that MMIF is not paid again: a transcript made last month feeds today's pipeline of the later apps.
Everything here is all or nothing: a refusal says which file is wrong and why, and changes nothing.
"""

import io
import json
import zipfile
import zlib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import PurePosixPath
from urllib.parse import unquote, urlsplit

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import QuerySet
from mmif import Mmif

from batches.models import Batch, MediaFile
from batches.services import batch_create
from chowda_site.refusals import Refused
from chowda_site.text import few
from clams_apps.metadata import MMIF_DOCUMENT_TYPES
from pipelines.models import Pipeline
from runs.models import BatchInput, Run, Status


class InputsError(Refused):
    """Nothing was created or stored; the message says which file is wrong and what to do."""


@dataclass(frozen=True)
class InputsChosen:
    """What a reuse or an upload did; ``sentence`` says it to the curator."""

    batch: Batch
    files: int
    how: str
    created: bool = True

    @property
    def sentence(self) -> str:
        if self.created:
            return f"Created batch '{self.batch.name}' of {self.files} file(s), each starting from {self.how}."
        return f"Batch '{self.batch.name}': {self.files} file(s) will start from {self.how}."


def _run_origin(run: Run) -> str:
    return f"run #{run.pk} of batch '{run.batch.name}'"


@transaction.atomic
def _batch_of(runs: list[Run], *, name: str, pipeline: Pipeline, created_by) -> Batch:
    batch = batch_create(
        name=name,
        media_files=MediaFile.objects.filter(pk__in=[run.media_file_id for run in runs]),
        pipeline=pipeline,
        created_by=created_by,
    )
    BatchInput.objects.bulk_create(
        BatchInput(
            batch=batch,
            media_file_id=run.media_file_id,
            mmif=run.final_mmif.name,
            origin=_run_origin(run),
            created_by=created_by,
        )
        for run in runs
    )
    return batch


def batch_from_runs(runs: QuerySet[Run], *, name: str, pipeline: Pipeline, created_by=None) -> InputsChosen:
    """A new batch of the runs' files, each starting from its run's final MMIF, to run ``pipeline``.

    Raises InputsError, creating nothing, when a run did not succeed or two runs are of the same file.
    """
    chosen = list(runs.select_related("batch", "media_file").order_by("media_file__guid", "pk"))
    if not chosen:
        raise InputsError("Nothing was created: select at least one succeeded run.")
    unfinished = [f"{run.media_file.guid} ({_run_origin(run)})" for run in chosen if not _has_output(run)]
    if unfinished:
        raise InputsError(
            f"Nothing was created: only a succeeded run has a final MMIF to start from, and {few(unfinished)} "
            "did not succeed. Leave those out of the selection."
        )
    twice = repeated(run.media_file.guid for run in chosen)
    if twice:
        raise InputsError(
            f"Nothing was created: {few(twice)} has more than one selected run, and a file starts from one MMIF. "
            "Select one run per file."
        )
    batch = _batch_of(chosen, name=name, pipeline=pipeline, created_by=created_by)
    return InputsChosen(batch, len(chosen), "the final MMIF of its selected run")


def repeated(names: Iterable[str]) -> list[str]:
    """The names that occur more than once, sorted; one pass, so a zip of 40,000 members is checked at once."""
    return sorted(name for name, count in Counter(names).items() if count > 1)


def _has_output(run: Run) -> bool:
    return run.status == Status.SUCCEEDED and bool(run.final_mmif)


def batch_from_latest(
    media_files: QuerySet[MediaFile],
    *,
    name: str,
    pipeline: Pipeline,
    from_pipeline: Pipeline | None = None,
    created_by=None,
) -> InputsChosen:
    """A new batch of these files, each starting from its latest successful MMIF (of ``from_pipeline``, when
    given, in any batch), to run ``pipeline``.

    Raises InputsError, creating nothing, naming the files that have no such MMIF.
    """
    files = list(media_files.order_by("guid"))
    if not files:
        raise InputsError("Nothing was created: select at least one media file.")
    succeeded = Run.objects.filter(media_file__in=files, status=Status.SUCCEEDED).exclude(final_mmif="")
    if from_pipeline is not None:
        succeeded = succeeded.filter(batch__pipeline=from_pipeline)
    latest: dict[int, Run] = {}
    for run in succeeded.select_related("batch").order_by("media_file_id", "-finished_at", "-pk"):
        latest.setdefault(run.media_file_id, run)
    missing = [f.guid for f in files if f.pk not in latest]
    if missing:
        where = f" of pipeline '{from_pipeline.name}'" if from_pipeline else ""
        raise InputsError(
            f"Nothing was created: {few(missing)} has no successful run{where} to start from. "
            "Leave those files out, or run them first."
        )
    runs = [latest[f.pk] for f in files]
    for run, media_file in zip(runs, files, strict=True):
        run.media_file = media_file
    batch = _batch_of(runs, name=name, pipeline=pipeline, created_by=created_by)
    where = f" of pipeline '{from_pipeline.name}'" if from_pipeline else ""
    return InputsChosen(batch, len(runs), f"its latest successful MMIF{where}")


# Uploads ------------------------------------------------------------------------------------------------------------

MMIF_SUFFIXES = (".mmif", ".json")


def batch_inputs_upload(batch: Batch, upload, *, created_by=None) -> InputsChosen:
    """Store MMIF made elsewhere as the inputs of ``batch``'s files: one ``<GUID>.mmif`` (or ``.json``) file, or a
    zip of them. Each must be valid MMIF (mmif-python's check) whose documents include the file's own media
    (same location and document type); an earlier input of the same file is replaced.

    Raises InputsError, storing nothing, naming the first files that are wrong and why.
    """
    entries = _entries(upload)
    files = {f.guid: f for f in batch.media_files.filter(guid__in=[guid for guid, _, _ in entries])}
    problems = []
    for guid, filename, text in entries:
        media_file = files.get(guid)
        if media_file is None:
            problems.append(
                f"{filename}: batch '{batch.name}' has no file {guid}; name each MMIF after a GUID of the batch."
            )
            continue
        problem = _mmif_problem(text, media_file)
        if problem:
            problems.append(f"{filename}: {problem}")
    if problems:
        raise InputsError("Nothing was stored. " + " ".join(problems[:10]) + (" …" if len(problems) > 10 else ""))
    origin_of = upload.name if len(entries) > 1 else None
    with transaction.atomic():
        stored = []
        try:
            for guid, filename, text in entries:
                name = default_storage.save(f"inputs/batch-{batch.pk}/{guid}.mmif", ContentFile(text))
                stored.append(name)
                BatchInput.objects.update_or_create(
                    batch=batch,
                    media_file=files[guid],
                    defaults={
                        "mmif": name,
                        "origin": f"uploaded {filename}" + (f" (in {origin_of})" if origin_of else ""),
                        "created_by": created_by,
                    },
                )
        except Exception:
            for name in stored:  # nothing half-stored: the rows roll back, the files go too
                default_storage.delete(name)
            raise
    return InputsChosen(batch, len(entries), "the uploaded MMIF", created=False)


def _entries(upload) -> list[tuple[str, str, bytes]]:
    """(GUID, file name, content) of each MMIF in the upload, a single file or a zip."""
    name = PurePosixPath(upload.name or "").name
    limit = settings.INPUT_UPLOAD_MAX_BYTES
    if upload.size > limit:
        raise InputsError(
            f"Nothing was stored: {name} is {upload.size:,} bytes, more than the {limit:,} an upload may have "
            "(CHOWDA_INPUT_UPLOAD_MAX_BYTES). Split it into smaller zips."
        )
    content = upload.read()
    if name.lower().endswith(".zip"):
        return _zip_entries(name, content, limit)
    if not name.lower().endswith(MMIF_SUFFIXES):
        raise InputsError(
            f"Nothing was stored: {name} is neither a .mmif or .json file named after a GUID, nor a zip of them."
        )
    return [(PurePosixPath(name).stem, name, content)]


def _zip_entries(name: str, content: bytes, limit: int) -> list[tuple[str, str, bytes]]:
    archive, members = zip_members(name, content, limit)
    others = [m.filename for m in members if not m.filename.lower().endswith(MMIF_SUFFIXES)]
    if others:
        raise InputsError(
            f"Nothing was stored: {name} holds {few(others)}, which is not a .mmif or .json file; "
            "a zip of inputs holds only <GUID>.mmif files."
        )
    if not members:
        raise InputsError(f"Nothing was stored: {name} holds no MMIF file.")
    twice = repeated(PurePosixPath(m.filename).stem for m in members)
    if twice:
        raise InputsError(f"Nothing was stored: {name} holds more than one MMIF for {few(twice)}.")
    return [(PurePosixPath(m.filename).stem, m.filename, unpacked(archive, m, name)) for m in members]


def zip_members(
    name: str, content: bytes, limit: int, *, error: type[Exception] = InputsError
) -> tuple[zipfile.ZipFile, list[zipfile.ZipInfo]]:
    """The uploaded zip ``name`` opened, and its files. Raises ``error`` with a sentence when it is not a zip, or
    when the sizes it declares add up past ``limit``: checked before anything is unpacked, so a zip bomb is
    refused unread. Every upload of zips (inputs here, gold sets in evaluations/) reads them through this and
    ``unpacked``."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
    except UNREADABLE:
        raise error(f"Nothing was stored: {name} is not a zip file that can be read.") from None
    members = [m for m in archive.infolist() if not m.is_dir()]
    if sum(m.file_size for m in members) > limit:
        raise error(
            f"Nothing was stored: {name} unpacks to more than {limit:,} bytes (CHOWDA_INPUT_UPLOAD_MAX_BYTES). "
            "Split it into smaller zips."
        )
    return archive, members


# What zipfile raises for a member it cannot unpack: damaged, cut short, or using a feature it lacks.
UNREADABLE = (zipfile.BadZipFile, EOFError, OSError, ValueError, NotImplementedError, zlib.error)
# Only these: zipfile inflates a bzip2 or lzma member whole, past the size the zip declares (a 467-byte bzip2 zip
# that declares 10 bytes took 800 MB), where a deflated one is inflated no further than the size asked for.
READABLE_METHODS = {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED}


def unpacked(
    archive: zipfile.ZipFile,
    member: zipfile.ZipInfo,
    name: str,
    *,
    error: type[Exception] = InputsError,
    what: str = "the MMIF",
) -> bytes:
    """The member's content, never longer than the size the zip declares for it (which the limit counted);
    raises ``error`` with a sentence telling how to zip ``what`` again when it cannot be read."""
    where = f"{member.filename} in {name}"
    if member.flag_bits & 0x1:
        raise error(
            f"Nothing was stored: {where} is encrypted, and Chowda has no password to read it. "
            f"Zip {what} again without a password."
        )
    if member.compress_type not in READABLE_METHODS:
        method = zipfile.compressor_names.get(member.compress_type)
        raise error(
            f"Nothing was stored: {where} is compressed with method {member.compress_type}"
            f"{f' ({method})' if method else ''}, which Chowda does not unpack: it reads members stored or "
            f"deflated, as zip tools write them by default. Zip {what} again that way, without a password."
        )
    try:
        with archive.open(member) as stream:
            # With a size, never read() to the end: that inflates up to 2 GB before zipfile cuts it to the size.
            return stream.read(member.file_size)
    except UNREADABLE as exc:
        raise error(
            f"Nothing was stored: {where} cannot be unpacked ({str(exc) or exc.__class__.__name__}): the zip is "
            "damaged or was cut short. Make the zip again and upload that."
        ) from None


def _path(location: str) -> str:
    parts = urlsplit(location or "")
    return unquote(parts.path) if parts.scheme in ("", "file") else location


NESTED_TOO_DEEP = (
    "it nests deeper than Chowda can read (a MMIF's JSON nests a few levels, this one hundreds or more); "
    "upload the MMIF file itself."
)


def _mmif_problem(content: bytes, media_file: MediaFile) -> str | None:
    """Why this MMIF cannot start ``media_file``'s run, or None."""
    try:
        text = content.decode("utf-8")
        json.loads(text)
    except RecursionError:
        return NESTED_TOO_DEEP
    except (UnicodeDecodeError, ValueError) as exc:
        return f"it is not JSON ({exc}); upload the MMIF file itself."
    try:
        mmif = Mmif(text)
    except RecursionError:
        return NESTED_TOO_DEEP
    except Exception as exc:  # mmif-python raises jsonschema's and its own errors
        first_line = str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__
        return f"it is not valid MMIF ({first_line}); upload a MMIF that mmif-python reads."
    wanted_type = MMIF_DOCUMENT_TYPES[media_file.document_type]
    wanted_path = _path(media_file.location)
    if any(_path(d.location or "") == wanted_path and d.at_type == wanted_type for d in mmif.documents):
        return None
    described = ", ".join(f"{d.location} ({d.at_type.shortname})" for d in mmif.documents) or "none"
    return (
        f"its documents ({described}) do not include {media_file.guid}'s media file {media_file.location} "
        f"({wanted_type.shortname}); upload the MMIF made from that file."
    )
