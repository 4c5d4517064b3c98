"""Writing media files, collections and batches: what the admin, the API and the commands call."""

import logging
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import QuerySet

from background.dispatcher import jobs_add
from batches.importer import ImportResult, ImportRow, check_rows, existing_files
from batches.models import Batch, Collection, DocumentType, MediaFile
from chowda_site.insert_select import insert_values
from pipelines.models import Pipeline

logger = logging.getLogger(__name__)


def add_media_files(owner: Batch | Collection, media_file_ids: Iterable[int]) -> None:
    """Put these media files into a batch or collection; files already in it are left as they are."""
    through = type(owner).media_files.through
    owner_field = f"{type(owner)._meta.model_name}_id"
    through.objects.bulk_create(
        [through(**{owner_field: owner.pk, "mediafile_id": pk}) for pk in media_file_ids], ignore_conflicts=True
    )


@dataclass(frozen=True)
class FilesChanged:
    """How many media files a batch gained or lost, and the sentence that says so."""

    count: int
    sentence: str


@transaction.atomic
def batch_add_files(batch: Batch, media_files: QuerySet[MediaFile]) -> FilesChanged:
    """Put these media files into the batch (those already in it stay as they are)."""
    before = batch.media_files.count()
    add_media_files(batch, media_files.values_list("pk", flat=True))
    added = batch.media_files.count() - before
    return FilesChanged(added, f"Added {added} media file(s) to batch '{batch.name}'; it holds {before + added}.")


@transaction.atomic
def batch_remove_files(batch: Batch, media_files: QuerySet[MediaFile]) -> FilesChanged:
    """Take these media files out of the batch; their runs in it are kept, for history."""
    through = Batch.media_files.through
    removed, _ = through.objects.filter(batch=batch, mediafile__in=media_files.values("pk")).delete()
    left = batch.media_files.count()
    return FilesChanged(removed, f"Removed {removed} media file(s) from batch '{batch.name}'; it holds {left}.")


def media_import(
    rows: list[ImportRow],
    *,
    batch: Batch | None = None,
    new_batch_name: str | None = None,
    collection: Collection | None = None,
    new_collection_name: str | None = None,
    user=None,
) -> ImportResult:
    """Create the media files that do not exist yet and put all of them into a batch and/or collection.

    All or nothing: if any row is invalid, nothing is written and ``result.errors`` lists every
    invalid line; otherwise everything is written in one transaction. ``result.sentence`` says which.
    With a ``user``, it needs the permissions to change (or add) the destinations, else raises
    PermissionDenied with a sentence; a new batch is recorded as created by them.
    Pass at most one of ``batch``/``new_batch_name`` and of ``collection``/``new_collection_name``
    (else ValueError). A new collection's name must not be taken (IntegrityError, nothing written).
    """
    if (batch and new_batch_name) or (collection and new_collection_name):
        raise ValueError("Give either an existing batch/collection or a new name, not both.")
    if user is not None:
        _check_destination_permissions(user, batch, new_batch_name, collection, new_collection_name)
    checked = check_rows(rows)
    if checked.errors:
        return ImportResult(checked.created, checked.existing, checked.errors, batch, collection)

    with transaction.atomic():
        newest = MediaFile.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        created = insert_values(
            MediaFile,
            ["guid", "location", "mime_type", "document_type"],
            [
                (guid, new.location, new.mime, new.document_type)
                for guid, new in checked.accepted.items()
                if guid not in checked.known
            ],
        )
        if settings.THUMBNAILS_ON_IMPORT and created:
            # Rows, not messages: the background queue's dispatcher makes them a window at a time. (A file another
            # import created meanwhile gets its thumbnail here too; asking twice does it once.)
            _queue_thumbnails(MediaFile.objects.filter(pk__gt=newest))
        if new_batch_name:
            batch = Batch.objects.create(name=new_batch_name, created_by=user)
        if new_collection_name:
            collection = Collection.objects.create(name=new_collection_name)
        if batch or collection:
            ids = [media.pk for media in existing_files(set(checked.accepted)).values()]
            for owner in (batch, collection):
                if owner:
                    add_media_files(owner, ids)
    return ImportResult(checked.created, checked.existing, [], batch, collection)


def _check_destination_permissions(user, batch, new_batch_name, collection, new_collection_name) -> None:
    wanted = [
        ("batches.change_batch", batch, "add files to existing batches"),
        ("batches.add_batch", new_batch_name, "create batches"),
        ("batches.change_collection", collection, "add files to existing collections"),
        ("batches.add_collection", new_collection_name, "create collections"),
    ]
    missing = [what for permission, given, what in wanted if given and not user.has_perm(permission)]
    if missing:
        raise PermissionDenied(
            f"You may not {' or '.join(missing)}: import without that destination, "
            "or ask an administrator for the permission."
        )


@transaction.atomic
def batch_create(
    *,
    name: str,
    media_files: QuerySet[MediaFile],
    pipeline: Pipeline | None = None,
    created_by=None,
    description: str = "",
) -> Batch:
    """A new batch holding the given media files."""
    batch = Batch.objects.create(name=name, pipeline=pipeline, created_by=created_by, description=description)
    add_media_files(batch, media_files.values_list("pk", flat=True))
    return batch


@transaction.atomic
def batch_duplicate(batch: Batch, *, created_by=None) -> Batch:
    """A copy named "<name> (copy)" with the same pipeline, input batch and files, and no runs."""
    copy = Batch.objects.create(
        name=f"{batch.name} (copy)",
        description=batch.description,
        pipeline=batch.pipeline,
        input_batch=batch.input_batch,
        input_pipeline=batch.input_pipeline,
        created_by=created_by,
    )
    add_media_files(copy, batch.media_files.values_list("pk", flat=True))
    return copy


@transaction.atomic
def batch_combine(batches: QuerySet[Batch], *, name: str, pipeline: Pipeline | None = None, created_by=None) -> Batch:
    """A new batch with the union of the given batches' files."""
    media_files = MediaFile.objects.filter(batches__in=batches).distinct()
    return batch_create(name=name, media_files=media_files, pipeline=pipeline, created_by=created_by)


@transaction.atomic
def batches_from_collections(
    collections: QuerySet[Collection],
    *,
    one_per_collection: bool,
    name: str = "",
    pipeline: Pipeline | None = None,
    created_by=None,
) -> list[Batch]:
    """One batch of all the collections' files, or one batch per collection named after it."""
    if one_per_collection:
        return [
            batch_create(
                name=collection.name,
                media_files=collection.media_files.all(),
                pipeline=pipeline,
                created_by=created_by,
            )
            for collection in collections
        ]
    media_files = MediaFile.objects.filter(collections__in=collections).distinct()
    return [batch_create(name=name, media_files=media_files, pipeline=pipeline, created_by=created_by)]


def media_make_thumbnails(media_files: QuerySet[MediaFile]) -> FilesChanged:
    """Record a thumbnail to make for each of these video, image and audio files (text has none), made by the
    background queue's workers; a file whose thumbnail is already waiting or being made is not asked twice."""
    wanted = media_files.exclude(document_type=DocumentType.TEXT)
    added = _queue_thumbnails(wanted)
    said = f"Making the thumbnails of {added} media file(s) in the background; reload to see them."
    if added < (asked := wanted.count()):
        said += f" {asked - added} were already waiting to be made."
    return FilesChanged(added, said)


def media_probe_durations_later(media_files: QuerySet[MediaFile]) -> FilesChanged:
    """Record a duration probe for each of these audio and video files that has no duration yet."""
    wanted = media_files.filter(duration__isnull=True, document_type__in=[DocumentType.AUDIO, DocumentType.VIDEO])
    added = jobs_add("duration", wanted)
    return FilesChanged(added, f"Reading how long {added} media file(s) play, in the background.")


def _queue_thumbnails(media_files: QuerySet[MediaFile]) -> int:
    return jobs_add("thumbnail", media_files.exclude(document_type=DocumentType.TEXT))
