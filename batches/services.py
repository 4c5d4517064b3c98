from collections.abc import Iterable

from django.db import transaction
from django.db.models import QuerySet

from batches.models import Batch, Collection, MediaFile
from pipelines.models import Pipeline


def _add_files(batch: Batch, media_file_ids: Iterable[int]) -> None:
    through = Batch.media_files.through
    through.objects.bulk_create(
        [through(batch_id=batch.pk, mediafile_id=pk) for pk in media_file_ids], ignore_conflicts=True
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
    _add_files(batch, media_files.values_list("pk", flat=True))
    return batch


@transaction.atomic
def batch_duplicate(batch: Batch, *, created_by=None) -> Batch:
    """A copy named "<name> (copy)" with the same pipeline, input batch and files, and no runs."""
    copy = Batch.objects.create(
        name=f"{batch.name} (copy)",
        description=batch.description,
        pipeline=batch.pipeline,
        input_batch=batch.input_batch,
        created_by=created_by,
    )
    _add_files(copy, batch.media_files.values_list("pk", flat=True))
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
