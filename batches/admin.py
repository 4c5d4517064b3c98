from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from background.models import ACTIVE_JOB_STATUSES, BackgroundJob, JobStatus
from batches.models import Batch, Collection, MediaFile
from batches.services import (
    batch_add_files,
    batch_create,
    batch_remove_files,
    batches_from_collections,
    media_make_thumbnails,
)
from batches.views import import_media_view, media_thumbnail_view
from chowda_site.admin_lists import BoundedIdsAdmin
from chowda_site.refusals import Refused
from pipelines.models import Pipeline


class NewBatchForm(forms.Form):
    name = forms.CharField(max_length=200)
    pipeline = forms.ModelChoiceField(Pipeline.objects.all(), required=False)


class BatchesFromCollectionsForm(forms.Form):
    one_per_collection = forms.BooleanField(
        required=False, label="One batch per collection", help_text="Each batch is named after its collection."
    )
    name = forms.CharField(max_length=200, required=False, help_text="The name of the one batch.")
    pipeline = forms.ModelChoiceField(Pipeline.objects.all(), required=False)

    def clean(self):
        cleaned = super().clean()
        if not cleaned.get("one_per_collection") and not cleaned.get("name"):
            self.add_error("name", "Give the new batch a name, or choose one batch per collection.")
        return cleaned


class ChooseBatchForm(forms.Form):
    batch = forms.ModelChoiceField(Batch.objects.all())


def ask_then_create(modeladmin, request, queryset: QuerySet, *, form_class, title, create):
    """An admin action that asks with ``form_class``, then creates batches with ``create(data, queryset)``
    and links to them."""

    def created(data, queryset):
        links = format_html_join(
            ", ",
            '<a href="{}">{}</a>',
            ((reverse("admin:batches_batch_change", args=[b.pk]), b.name) for b in create(data, queryset)),
        )
        return format_html("Created {}.", links)

    return ask_then_do(modeladmin, request, queryset, form_class=form_class, title=title, do=created)


def ask_then_do(modeladmin, request, queryset: QuerySet, *, form_class, title, do):
    """Show an intermediate form for an admin action; on a valid submit call ``do(data, queryset)`` and
    show the sentence it returns. Returns the page to show, or None to go back to the change list.

    A service's refusal (``Refused``: it changed nothing) is shown above the form again, with what the
    curator chose kept.
    """
    if "apply" in request.POST:
        form = form_class(request.POST)
        if form.is_valid():
            try:
                said = do(form.cleaned_data, queryset)
            except Refused as exc:
                form.add_error(None, str(exc))
            else:
                modeladmin.message_user(request, said, messages.SUCCESS)
                return None
    else:
        form = form_class()
    return action_page(modeladmin, request, queryset, "admin/batches/action_form.html", title=title, form=form)


def action_page(modeladmin, request, queryset: QuerySet, template: str, **context) -> TemplateResponse:
    """The intermediate page of an admin action: ``template`` with the selection, so that its form posts the
    same action on the same objects again, and the admin's own context."""
    return TemplateResponse(
        request,
        template,
        {
            **modeladmin.admin_site.each_context(request),
            "queryset": queryset,
            "opts": modeladmin.model._meta,
            "action": request.POST["action"],
            "action_checkbox_name": ACTION_CHECKBOX_NAME,
            **context,
        },
    )


class MissingFilter(admin.SimpleListFilter):
    title = "at its source"
    parameter_name = "missing"

    def lookups(self, request, model_admin):
        return [("yes", "Missing (gone from its source)"), ("no", "Present")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(missing_since__isnull=False)
        if self.value() == "no":
            return queryset.filter(missing_since__isnull=True)
        return queryset


@admin.register(MediaFile)
class MediaFileAdmin(BoundedIdsAdmin):
    list_display = ["thumbnail_image", "guid", "document_type", "mime_type", "location", "missing_since", "created_at"]
    list_filter = ["document_type", MissingFilter, "collections"]
    search_fields = ["guid"]
    search_help_text = "Search by GUID."
    actions = ["create_batch", "add_to_batch", "remove_from_batch", "make_thumbnails"]
    show_full_result_count = False

    def get_queryset(self, request):
        # How its latest thumbnail job went (waiting, failed and why): subqueries, not a query per row.
        latest = BackgroundJob.objects.filter(kind="thumbnail", target=OuterRef("pk")).order_by("-pk")
        return (
            super()
            .get_queryset(request)
            .annotate(
                thumbnail_status=Subquery(latest.values("status")[:1]),
                thumbnail_error=Subquery(latest.values("error")[:1]),
            )
        )

    @admin.display(description="thumbnail")
    def thumbnail_image(self, media_file):
        if not media_file.thumbnail:
            if getattr(media_file, "thumbnail_status", None) == JobStatus.FAILED:
                return format_html(
                    '<span class="thumbnail-failed" title="{}">✗ failed</span>', media_file.thumbnail_error
                )
            if getattr(media_file, "thumbnail_status", None) in ACTIVE_JOB_STATUSES:
                return format_html(
                    '<span class="thumbnail-waiting" title="{}">…</span>', "Being made in the background"
                )
            return format_html('<span class="thumbnail-none" title="{}">—</span>', "No thumbnail yet")
        url = reverse("admin:batches_mediafile_thumbnail", args=[media_file.pk])
        return format_html('<img src="{}" alt="" style="max-height:48px">', url)

    @admin.action(description="Make thumbnails", permissions=["change"])
    def make_thumbnails(self, request, queryset):
        self.message_user(request, media_make_thumbnails(queryset).sentence, messages.SUCCESS)

    def lookup_allowed(self, lookup, value, request=None):
        # A batch's page links here for its files; a list filter would list every batch.
        # A media source's page links here for its files (sources/admin.py) the same way.
        return lookup in ("batches__id__exact", "source_items__source__id__exact") or super().lookup_allowed(
            lookup, value, request
        )

    def get_urls(self):
        return [
            path("import/", self.admin_site.admin_view(import_media_view), name="batches_mediafile_import"),
            path(
                "<int:pk>/thumbnail/",
                self.admin_site.admin_view(media_thumbnail_view),
                name="batches_mediafile_thumbnail",
            ),
            *super().get_urls(),
        ]

    @admin.action(description="Create a batch of the selected media files", permissions=["add_batch"])
    def create_batch(self, request, queryset):
        return ask_then_create(
            self,
            request,
            queryset,
            form_class=NewBatchForm,
            title="Create a batch of the selected media files",
            create=lambda data, qs: [
                batch_create(name=data["name"], media_files=qs, pipeline=data["pipeline"], created_by=request.user)
            ],
        )

    @admin.action(description="Add the selected media files to a batch", permissions=["change_batch"])
    def add_to_batch(self, request, queryset):
        return ask_then_do(
            self,
            request,
            queryset,
            form_class=ChooseBatchForm,
            title="Add the selected media files to a batch",
            do=lambda data, qs: batch_add_files(data["batch"], qs).sentence,
        )

    @admin.action(description="Remove the selected media files from a batch", permissions=["change_batch"])
    def remove_from_batch(self, request, queryset):
        return ask_then_do(
            self,
            request,
            queryset,
            form_class=ChooseBatchForm,
            title="Remove the selected media files from a batch",
            do=lambda data, qs: batch_remove_files(data["batch"], qs).sentence,
        )

    def has_add_batch_permission(self, request):
        return request.user.has_perm("batches.add_batch")

    def has_change_batch_permission(self, request):
        return request.user.has_perm("batches.change_batch")


@admin.register(Collection)
class CollectionAdmin(BoundedIdsAdmin):
    list_display = ["name", "file_count", "created_at"]
    search_fields = ["name", "media_files__guid"]
    autocomplete_fields = ["media_files"]
    actions = ["create_batches"]

    def get_queryset(self, request):
        through = Collection.media_files.through
        files = through.objects.filter(collection=OuterRef("pk")).order_by().values("collection")
        files = files.annotate(n=Count("*")).values("n")
        return (
            super()
            .get_queryset(request)
            .annotate(file_count=Coalesce(Subquery(files, output_field=IntegerField()), Value(0)))
        )

    @admin.display(description="files", ordering="file_count")
    def file_count(self, collection):
        return collection.file_count

    @admin.action(description="Create batches from the selected collections", permissions=["add_batch"])
    def create_batches(self, request, queryset):
        return ask_then_create(
            self,
            request,
            queryset,
            form_class=BatchesFromCollectionsForm,
            title="Create batches from the selected collections",
            create=lambda data, qs: batches_from_collections(
                qs,
                one_per_collection=data["one_per_collection"],
                name=data["name"],
                pipeline=data["pipeline"],
                created_by=request.user,
            ),
        )

    def has_add_batch_permission(self, request):
        return request.user.has_perm("batches.add_batch")
