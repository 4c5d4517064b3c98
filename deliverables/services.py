"""Marking a media file's accepted MMIF as final, and delivering a batch's finals with their deliverables."""

import hashlib
import json
from dataclasses import dataclass

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from batches.models import Batch
from chowda_site.celery import app as celery_app
from chowda_site.refusals import Refused
from chowda_site.text import few
from deliverables.destinations import DestinationError, open_destination
from deliverables.formats import KINDS, FormatError, read_mmif, write_deliverable
from deliverables.models import Delivery, FinalMmif
from runs.models import Run, Status
from runs.storage import open_mmif

MANIFEST = "manifest.json"
# Named, not imported: deliverables.tasks imports this module.
DELIVER_TASK = "deliverables.deliver"


class DeliverablesError(Refused):
    """Nothing was marked or delivered; the message says why and what to do."""


@dataclass
class FinalsMarked:
    """How many files got a final MMIF; ``sentence`` says it to the curator."""

    count: int
    replaced: int

    def __bool__(self) -> bool:
        return self.count > 0

    @property
    def sentence(self) -> str:
        if not self.count:
            return "No final MMIF was marked: no file has a successful run with a final MMIF."
        replaced = f", replacing {self.replaced} earlier one(s)" if self.replaced else ""
        return f"Marked the MMIF of {self.count} file(s) as final{replaced}."


def _mark(runs: list[Run], user) -> FinalsMarked:
    replaced = 0
    with transaction.atomic():
        for run in runs:
            _, created = FinalMmif.objects.update_or_create(
                media_file_id=run.media_file_id,
                pipeline_id=run.batch.pipeline_id,
                defaults={"run": run, "marked_by": user},
            )
            replaced += not created
    return FinalsMarked(len(runs), replaced)


def runs_mark_final(runs: QuerySet, user) -> FinalsMarked:
    """Mark each run's final MMIF as its file's final of its batch's pipeline, replacing an earlier mark.

    All or nothing: raises DeliverablesError naming the runs that did not succeed, whose batch has no
    pipeline, or that are two runs of the same file and pipeline.
    """
    chosen = list(runs.select_related("batch", "media_file").order_by("media_file__guid", "pk"))
    unfinished = [str(run) for run in chosen if run.status != Status.SUCCEEDED or not run.final_mmif]
    if unfinished:
        raise DeliverablesError(
            f"Nothing was marked: only a succeeded run has a final MMIF, and {few(unfinished)} did not succeed. "
            "Leave those out of the selection."
        )
    without_pipeline = [str(run) for run in chosen if not run.batch.pipeline_id]
    if without_pipeline:
        raise DeliverablesError(
            f"Nothing was marked: the batch of {few(without_pipeline)} has no pipeline, and a final MMIF is "
            "final for one pipeline. Give the batch its pipeline back first."
        )
    keys = [(run.media_file_id, run.batch.pipeline_id) for run in chosen]
    twice = sorted({run.media_file.guid for run, key in zip(chosen, keys, strict=True) if keys.count(key) > 1})
    if twice:
        raise DeliverablesError(
            f"Nothing was marked: {few(twice)} has several selected runs of the same pipeline, and only one "
            "can be final. Select one run per file."
        )
    return _mark(chosen, user)


def batch_mark_final(batch: Batch, user) -> FinalsMarked:
    """Mark the latest successful run of each file of the batch as final for the batch's pipeline.

    Raises DeliverablesError when the batch has no pipeline.
    """
    if not batch.pipeline_id:
        raise DeliverablesError(
            f"Nothing was marked: batch {batch.name!r} has no pipeline, and a final MMIF is final for one pipeline."
        )
    runs = (
        Run.objects.current()
        .filter(batch=batch, status=Status.SUCCEEDED)
        .exclude(final_mmif="")
        .select_related("batch")
        .order_by("media_file_id")
    )
    return _mark(list(runs), user)


@dataclass
class DeliveryResult:
    delivery: Delivery
    files: int  # in the batch

    def __bool__(self) -> bool:
        return self.delivery.finished_at is None or self.delivery.files_delivered > 0

    @property
    def sentence(self) -> str:
        d = self.delivery
        if d.finished_at is None:
            return (
                f"Delivering the {self.files} file(s) of the batch to {d.destination} ({d.target}) in the "
                "background: the Deliveries list says when it is done and what was not delivered."
            )
        said = f"Delivered {d.files_delivered} file(s) to {d.destination} ({d.target})"
        if not d.failures:
            return f"{said}."
        return f"{said}; {len(d.failures)} file(s) were not delivered: see the delivery's failures."


def batch_folder(batch: Batch) -> str:
    return f"batch-{batch.pk}"


def batch_deliver(batch: Batch, destination: str, kinds: list[str], user, *, in_background: bool = True):
    """Record a delivery of the batch to the named destination and carry it out (``delivery_carry_out``): in a
    Celery task once the caller's transaction commits, or here when ``in_background`` is False. Returns a
    DeliveryResult.

    Raises DeliverablesError (nothing written, nothing recorded) for an unknown kind, a batch without a
    pipeline, or a destination that is unknown or cannot be written.
    """
    unknown = [kind for kind in kinds if kind not in KINDS]
    if unknown:
        raise DeliverablesError(f"There is no deliverable called {few(unknown)}: choose among {', '.join(KINDS)}.")
    if not batch.pipeline_id:
        raise DeliverablesError(
            f"Nothing was delivered: batch {batch.name!r} has no pipeline, so it has no final MMIF to deliver."
        )
    folder = batch_folder(batch)
    try:
        target = open_destination(destination)
        target.check(folder)
    except DestinationError as exc:
        raise DeliverablesError(f"Nothing was delivered: {exc}") from None
    delivery = Delivery.objects.create(
        batch=batch, destination=destination, target=f"{target.target}/{folder}", kinds=kinds, delivered_by=user
    )
    if in_background:
        transaction.on_commit(lambda: celery_app.send_task(DELIVER_TASK, args=[delivery.pk]))
    else:
        delivery = delivery_carry_out(delivery)
    return DeliveryResult(delivery, batch.media_files.count())


def delivery_carry_out(delivery: Delivery) -> Delivery:
    """Copy the final MMIF of each file of the delivery's batch (for the batch's pipeline) and the chosen
    deliverables to its destination, as ``batch-<id>/<guid>.<ext>`` plus ``batch-<id>/manifest.json``, replacing
    what an earlier delivery wrote there; then record how many files went and what failed, and when it finished.

    A file without a final MMIF, or whose files cannot be made or written, is a failure of that file (a sentence
    in ``Delivery.failures``), not an exception; so is a destination that went away since the delivery was asked.
    """
    try:
        target = open_destination(delivery.destination)
    except DestinationError as exc:
        return _finish(delivery, [], [{"guid": "", "problem": str(exc)}])
    batch, folder = delivery.batch, batch_folder(delivery.batch)
    finals = {
        final.media_file_id: final
        for final in FinalMmif.objects.filter(pipeline_id=batch.pipeline_id, media_file__batches=batch).select_related(
            "run"
        )
    }
    entries, failures = [], []
    for media_id, guid in batch.media_files.order_by("guid").values_list("pk", "guid").iterator():
        final = finals.get(media_id)
        if final is None:
            failures.append({"guid": guid, "problem": f"{guid} has no final MMIF of this pipeline: mark one first."})
            continue
        try:
            files = _deliver_file(target, folder, guid, final.run, delivery.kinds)
        except (OSError, FormatError) as exc:
            failures.append({"guid": guid, "problem": f"{guid} was not delivered: {exc}"})
            continue
        entries.append({"guid": guid, "run": final.run_id, "pipeline": batch.pipeline_id, "files": files})
    manifest = {
        "batch": batch.pk,
        "batch_name": batch.name,
        "pipeline": batch.pipeline_id,
        "delivered_at": timezone.now().isoformat(),
        "files": entries,
        "failures": failures,
    }
    try:
        target.put(f"{folder}/{MANIFEST}", json.dumps(manifest, indent=2).encode())
    except OSError as exc:
        failures = [*failures, {"guid": "", "problem": f"The manifest was not written: {exc}"}]
    return _finish(delivery, entries, failures)


def _finish(delivery: Delivery, entries: list[dict], failures: list[dict]) -> Delivery:
    delivery.files_delivered, delivery.failures, delivery.finished_at = len(entries), failures, timezone.now()
    delivery.save(update_fields=["files_delivered", "failures", "finished_at"])
    return delivery


def _deliver_file(target, folder: str, guid: str, run: Run, kinds: list[str]) -> dict[str, str]:
    """Write one file's MMIF and deliverables; returns each written name with its SHA-256."""
    with open_mmif(run.final_mmif.name) as stored:
        mmif = stored.read()
    contents = {f"{guid}.mmif": mmif}
    if kinds:
        document = read_mmif(mmif.decode())
        for kind in kinds:
            contents[f"{guid}.{KINDS[kind][0]}"] = write_deliverable(kind, document).encode()
    for name, data in contents.items():
        target.put(f"{folder}/{name}", data)
    return {name: hashlib.sha256(data).hexdigest() for name, data in contents.items()}
