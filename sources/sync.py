"""A sync: list a source page by page and make each item a media file, by GUID, in bulk.

Idempotent: a second sync with nothing changed at the source changes nothing. A file whose item is gone
from a *complete* listing is marked ``missing_since`` (never deleted: its runs and MMIF keep their history),
and the mark clears when the item comes back. A listing that fails part-way keeps what it saw and marks
nothing missing. Memory holds one page at a time; each page costs a few queries, none per item.
"""

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from background.jobs import job_progress
from background.kinds import JobFailed
from batches.models import DocumentType, MediaFile, validate_guid, validate_location
from batches.services import add_media_files, media_make_thumbnails
from chowda_site.insert_select import insert_values
from sources.listing import Item, ListingFailed, Page, pages
from sources.live import sync_changed
from sources.models import MediaSource, SourceItem, SyncRun, SyncStatus

logger = logging.getLogger(__name__)

# How many skipped names and errors a sync keeps to show; the counts count them all.
EXAMPLES = 5
# SQLite allows 999 variables per query.
CHUNK = 900


@dataclass
class Counts:
    pages: int = 0
    seen: int = 0
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    errors: int = 0
    skipped_examples: list[str] = field(default_factory=list)
    error_messages: list[str] = field(default_factory=list)

    def skip(self, why: str) -> None:
        self.skipped += 1
        if len(self.skipped_examples) < EXAMPLES:
            self.skipped_examples.append(why)

    def error(self, sentence: str) -> None:
        self.errors += 1
        if len(self.error_messages) < EXAMPLES:
            self.error_messages.append(sentence)

    def fields(self) -> dict:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


def sync_job(job) -> None:
    """The background job of a sync (its target: the SyncRun). Raises JobFailed with the sync's sentence."""
    sync = sync_run(job.target, progress=lambda said: job_progress(job, said))
    if sync is not None and sync.status == SyncStatus.FAILED:
        raise JobFailed(sync.sentence)


def sync_run(sync_id: int, *, progress: Callable[[str], None] = lambda said: None) -> SyncRun | None:
    """Do the sync (waiting, or running again after its worker was lost); returns it as it ended, None if it is
    gone or had ended. ``progress`` hears how far it got after each page."""
    sync = SyncRun.objects.select_related("source").filter(pk=sync_id).first()
    if sync is None or sync.status not in (SyncStatus.PENDING, SyncStatus.RUNNING):
        return None
    SyncRun.objects.filter(pk=sync.pk).update(
        status=SyncStatus.RUNNING, started_at=timezone.now(), heartbeat_at=timezone.now()
    )
    sync_changed(sync.pk)
    source = sync.source
    counts = Counts()
    try:
        rule = re.compile(source.guid_rule)
        for page in pages(source):
            _apply(sync, source, rule, page, counts)
            SyncRun.objects.filter(pk=sync.pk).update(**counts.fields(), heartbeat_at=timezone.now())
            sync_changed(sync.pk)
            progress(f"page {counts.pages}: {counts.seen:,} items")
        missing = _mark_missing(sync, source)
    except ListingFailed as exc:
        sentence = (
            f"{exc} {counts.seen:,} items seen before it were kept; nothing was marked missing, "
            "as the listing was not complete."
        )
        return _finish(sync, counts, SyncStatus.FAILED, sentence)
    except Exception as exc:
        logger.exception("Sync %s of source %s crashed", sync.pk, source.pk)
        sentence = (
            f"The sync of source '{source.name}' stopped on an error in Chowda ({exc.__class__.__name__}); "
            "nothing was marked missing. Sync again, and tell your operator if it happens again."
        )
        return _finish(sync, counts, SyncStatus.FAILED, sentence)
    sentence = (
        f"Synced source '{source.name}': {counts.seen:,} items in {counts.pages} page(s); {counts.new:,} new, "
        f"{counts.updated:,} updated, {counts.unchanged:,} unchanged, {missing:,} missing, "
        f"{counts.skipped:,} skipped, {counts.errors:,} errors."
    )
    return _finish(sync, counts, SyncStatus.SUCCEEDED, sentence, missing=missing)


def _finish(sync: SyncRun, counts: Counts, status: str, sentence: str, *, missing: int = 0) -> SyncRun:
    SyncRun.objects.filter(pk=sync.pk).update(
        **counts.fields(), missing=missing, status=status, sentence=sentence, finished_at=timezone.now()
    )
    sync_changed(sync.pk)
    sync.refresh_from_db()
    return sync


def guid_of(item: Item, rule: re.Pattern) -> str:
    """The item's GUID: the feed's own, else the GUID rule's group matched against its name ("" if none)."""
    if item.guid:
        return item.guid
    found = rule.search(item.name)
    return (found.group(1) or "") if found else ""


@transaction.atomic
def _apply(sync: SyncRun, source: MediaSource, rule: re.Pattern, page: Page, counts: Counts) -> None:
    counts.pages += 1
    if page.unchanged:
        _apply_unchanged(sync, source, page, counts)
        return
    wanted = _wanted(page.items, rule, counts)
    counts.seen += len(page.items)
    if not wanted:
        _remember_page(source, page)
        return
    files = _files_by_guid(list(wanted))
    created = [(guid, *_columns(item)) for guid, item in wanted.items() if guid not in files]
    insert_values(MediaFile, ["guid", "location", "mime_type", "document_type"], created)
    if created:
        new_files = _files_by_guid([row[0] for row in created])
        files.update(new_files)
        counts.new += len(new_files)
        if settings.THUMBNAILS_ON_IMPORT:
            media_make_thumbnails(MediaFile.objects.filter(pk__in=[f.pk for f in new_files.values()]))
    created_guids = {row[0] for row in created}
    known_items = {
        item.media_file_id: item
        for chunk in _chunks([f.pk for f in files.values()])
        for item in SourceItem.objects.filter(source=source, media_file_id__in=chunk)
    }
    changed_files, new_items, changed_items, same_items = [], [], [], []
    for guid, item in wanted.items():
        media = files[guid]
        known = known_items.get(media.pk)
        if known is not None and known.last_seen_sync_id == sync.pk and known.name != item.name:
            counts.skip(f"{item.name}: GUID {guid} is also {known.name}, listed earlier; the first is kept")
            continue
        location, mime, document_type = _columns(item)
        file_changed = guid not in created_guids and (
            (media.location, media.mime_type, media.document_type) != (location, mime, document_type)
            or media.missing_since is not None
        )
        if file_changed:
            media.location, media.mime_type, media.document_type = location, mime, document_type
            media.missing_since = None
            changed_files.append(media)
        attributes = {"name": item.name[:1000], "fingerprint": item.fingerprint[:200], "size": item.size}
        attributes["page"] = page.key[:1000]
        if known is None:
            new_items.append(SourceItem(source=source, media_file=media, last_seen_sync=sync, **attributes))
            if guid not in created_guids:
                counts.updated += 1  # a file imported before, now found in this source
        elif file_changed or any(getattr(known, name) != value for name, value in attributes.items()):
            for name, value in attributes.items():
                setattr(known, name, value)
            known.last_seen_sync = sync
            changed_items.append(known)
            counts.updated += 1
        else:
            same_items.append(known.pk)
            counts.unchanged += 1
    MediaFile.objects.bulk_update(changed_files, ["location", "mime_type", "document_type", "missing_since"])
    SourceItem.objects.bulk_create(new_items, ignore_conflicts=True)
    SourceItem.objects.bulk_update(changed_items, ["name", "fingerprint", "size", "page", "last_seen_sync"])
    for chunk in _chunks(same_items):
        SourceItem.objects.filter(pk__in=chunk).update(last_seen_sync=sync)
    if source.collection_id:
        add_media_files(source.collection, [f.pk for f in files.values()])
    _remember_page(source, page)


def _apply_unchanged(sync: SyncRun, source: MediaSource, page: Page, counts: Counts) -> None:
    """A feed page that answered 304: its items are those the last sync saw on it, all still there."""
    items = SourceItem.objects.filter(source=source, page=page.key)
    MediaFile.objects.filter(source_items__in=items, missing_since__isnull=False).update(missing_since=None)
    seen = items.update(last_seen_sync=sync)
    counts.seen += seen
    counts.unchanged += seen


def _remember_page(source: MediaSource, page: Page) -> None:
    if page.key and page.etag:
        source.feed_etags = {**(source.feed_etags or {}), page.key: [page.etag, page.next]}
        MediaSource.objects.filter(pk=source.pk).update(feed_etags=source.feed_etags)


def _wanted(items: list[Item], rule: re.Pattern, counts: Counts) -> dict[str, Item]:
    """The page's items by GUID, each checked; the rest skipped (no GUID, a duplicate) or errors (invalid)."""
    wanted: dict[str, Item] = {}
    for item in items:
        guid = guid_of(item, rule)
        if not guid:
            counts.skip(f"{item.name}: does not match the GUID rule")
            continue
        try:
            validate_guid(guid)
            validate_location(item.location)
        except ValidationError as exc:
            counts.error(f"{item.name}: {' '.join(exc.messages)}")
            continue
        if DocumentType.for_mime(item.mime) is None:
            counts.error(
                f"{item.name}: Chowda cannot tell from its MIME type ({item.mime or 'none'}) whether it is video, "
                "audio, image or text; give the file a known extension or MIME type at the source."
            )
            continue
        if guid in wanted:
            counts.skip(f"{item.name}: GUID {guid} is also {wanted[guid].name}, listed earlier; the first is kept")
            continue
        wanted[guid] = item
    return wanted


def _columns(item: Item) -> tuple[str, str, str]:
    return item.location, item.mime, DocumentType.for_mime(item.mime).value


def _files_by_guid(guids: list[str]) -> dict[str, MediaFile]:
    return {
        media.guid: media
        for chunk in _chunks(guids)
        for media in MediaFile.objects.filter(guid__in=chunk).only(
            "pk", "guid", "location", "mime_type", "document_type", "missing_since"
        )
    }


def _chunks(values: list) -> list[list]:
    return [values[start : start + CHUNK] for start in range(0, len(values), CHUNK)]


def _mark_missing(sync: SyncRun, source: MediaSource) -> int:
    """After a complete listing: the files of the source's items it did not list are missing (since now, unless
    they were already); returns how many of the source's items are missing."""
    gone = SourceItem.objects.filter(source=source).filter(~Q(last_seen_sync=sync) | Q(last_seen_sync__isnull=True))
    MediaFile.objects.filter(source_items__in=gone, missing_since__isnull=True).update(missing_since=timezone.now())
    return gone.count()
