"""Query-string filters of the API's lists."""

import django_filters
from django import forms
from django.db.models import Exists, OuterRef

from batches.models import Batch, MediaFile
from chowda_site.ids import MAX_ID
from deliverables.models import Delivery, FinalMmif
from runs.models import RUN_STATUSES, Run, StepRun
from runs.selectors import with_progress

PROGRESS_CHOICES = [
    ("new", "not started"),
    ("active", "queued or running"),
    ("failed", "finished, with failed or cancelled runs"),
    ("finished", "finished, every run succeeded"),
]


class IdField(forms.IntegerField):
    """A whole number in the range of ids, so that no number the database cannot hold reaches a query."""

    default_error_messages = {
        "min_value": "Ensure the id is at least %(limit_value)s: ids start there.",
        "max_value": "Ensure the id is at most %(limit_value)s: no id is larger.",
    }

    def __init__(self, **kwargs):
        super().__init__(min_value=1, max_value=MAX_ID, **kwargs)


class IdFilter(django_filters.NumberFilter):
    """An object's id: a whole number, not the decimal that NumberFilter takes."""

    field_class = IdField


class MediaFileFilter(django_filters.FilterSet):
    guid = django_filters.CharFilter(help_text="The media file with this GUID.")
    collection = IdFilter(field_name="collections", help_text="Media files in the collection with this id.")
    batch = IdFilter(field_name="batches", help_text="Media files in the batch with this id.")
    missing = django_filters.BooleanFilter(
        field_name="missing_since",
        lookup_expr="isnull",
        exclude=True,
        help_text="true: media files a sync found gone from their source (missing_since is set); false: the others.",
    )
    final_mmif = django_filters.BooleanFilter(
        method="filter_final_mmif",
        help_text="true: media files with a final MMIF of some pipeline; false: those with none.",
    )

    class Meta:
        model = MediaFile
        fields = ["guid", "collection", "batch", "document_type", "missing", "final_mmif"]

    def filter_final_mmif(self, queryset, name, value):
        has_final = Exists(FinalMmif.objects.filter(media_file=OuterRef("pk")))
        return queryset.filter(has_final) if value else queryset.exclude(has_final)


class BatchFilter(django_filters.FilterSet):
    pipeline = IdFilter(field_name="pipeline", help_text="Batches that run the pipeline with this id.")
    status = django_filters.ChoiceFilter(
        choices=PROGRESS_CHOICES,
        method="filter_status",
        help_text="new: not started; active: has queued or running runs; failed: finished with failed or "
        "cancelled runs; finished: every run succeeded.",
    )

    class Meta:
        model = Batch
        fields = ["pipeline", "status"]

    def filter_status(self, queryset, name, value):
        return with_progress(queryset, value)


class RunFilter(django_filters.FilterSet):
    batch = IdFilter(field_name="batch", help_text="Runs of the batch with this id.")
    status = django_filters.ChoiceFilter(choices=[(s.value, s.label) for s in RUN_STATUSES])
    guid = django_filters.CharFilter(field_name="media_file__guid", help_text="Runs of the media file with this GUID.")
    app = IdFilter(method="filter_app", help_text="Runs with a step that calls the app with this id.")
    superseded = django_filters.BooleanFilter(
        help_text="false: only each file's latest run in its batch; true: only the runs a later one replaced."
    )

    class Meta:
        model = Run
        fields = ["batch", "status", "guid", "app", "superseded"]

    def filter_app(self, queryset, name, value: int):
        return queryset.filter(Exists(StepRun.objects.filter(run=OuterRef("pk"), app_id=value)))


class DeliveryFilter(django_filters.FilterSet):
    batch = IdFilter(field_name="batch", help_text="Only the deliveries of the batch with this id.")

    class Meta:
        model = Delivery
        fields = ["batch"]
