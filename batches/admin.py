from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from batches import services
from batches.models import Batch, Collection, MediaFile
from pipelines.models import Pipeline
from runs import services as runner
from runs.models import RUN_STATUSES

STATUS_COLOURS = {
    "queued": "#757575",
    "running": "#1565c0",
    "succeeded": "#2e7d32",
    "failed": "#c62828",
    "cancelled": "#ef6c00",
}


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


def ask_then_create(modeladmin, request, queryset: QuerySet, *, form_class, title, create):
    """Show an intermediate form for an admin action; on a valid submit call ``create(form, queryset)``.

    Returns the page to show, or None to go back to the change list.
    """
    if "apply" in request.POST:
        form = form_class(request.POST)
        if form.is_valid():
            batches = create(form.cleaned_data, queryset)
            links = format_html_join(
                ", ",
                '<a href="{}">{}</a>',
                ((reverse("admin:batches_batch_change", args=[b.pk]), b.name) for b in batches),
            )
            modeladmin.message_user(request, format_html("Created {}.", links), messages.SUCCESS)
            return None
    else:
        form = form_class()
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": title,
        "form": form,
        "queryset": queryset,
        "opts": modeladmin.model._meta,
        "action": request.POST["action"],
        "action_checkbox_name": ACTION_CHECKBOX_NAME,
    }
    return TemplateResponse(request, "admin/batches/action_form.html", context)


@admin.register(MediaFile)
class MediaFileAdmin(admin.ModelAdmin):
    list_display = ["guid", "document_type", "mime_type", "location", "created_at"]
    list_filter = ["document_type", "collections"]
    search_fields = ["guid"]
    search_help_text = "Search by GUID."
    actions = ["create_batch"]
    show_full_result_count = False

    def get_urls(self):
        from batches.views import import_media_view

        return [
            path("import/", self.admin_site.admin_view(import_media_view), name="batches_mediafile_import"),
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
                services.batch_create(
                    name=data["name"], media_files=qs, pipeline=data["pipeline"], created_by=request.user
                )
            ],
        )

    def has_add_batch_permission(self, request):
        return request.user.has_perm("batches.add_batch")


@admin.register(Collection)
class CollectionAdmin(admin.ModelAdmin):
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
            create=lambda data, qs: services.batches_from_collections(
                qs,
                one_per_collection=data["one_per_collection"],
                name=data["name"],
                pipeline=data["pipeline"],
                created_by=request.user,
            ),
        )

    def has_add_batch_permission(self, request):
        return request.user.has_perm("batches.add_batch")


class ProgressFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return [
            ("new", "Not started"),
            ("active", "Running"),
            ("failed", "Has failed or cancelled runs"),
            ("finished", "Finished"),
        ]

    def queryset(self, request, queryset):
        return queryset.with_progress(self.value()) if self.value() else queryset


@admin.register(Batch)
class BatchAdmin(admin.ModelAdmin):
    list_display = ["name", "pipeline", "file_count", "run_counts", "live", "created_by", "created_at"]
    list_filter = ["pipeline", ProgressFilter]
    list_select_related = ["pipeline", "created_by"]
    search_fields = ["name", "media_files__guid"]
    search_help_text = "Search by batch name or by the GUID of a file in it."
    autocomplete_fields = ["media_files", "input_batch"]
    readonly_fields = ["created_by", "created_at", "results"]
    fields = ["name", "description", "pipeline", "input_batch", "media_files", "created_by", "created_at", "results"]
    actions = ["start", "cancel", "retry_failed", "duplicate", "combine"]

    def get_queryset(self, request):
        return super().get_queryset(request).with_counts()

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)

    @admin.display(description="files", ordering="media_count")
    def file_count(self, batch):
        return batch.media_count

    @admin.display(description="runs")
    def run_counts(self, batch):
        counts = [(status, getattr(batch, f"runs_{status}")) for status in RUN_STATUSES]
        shown = [(STATUS_COLOURS[s], n, s.label.lower()) for s, n in counts if n]
        if not shown:
            return "not started"
        return format_html_join(" · ", '<span style="color:{}">{} {}</span>', shown)

    @admin.display(description="results")
    def results(self, batch):
        if not batch.pk:
            return "—"
        return format_html(
            '<a href="{}">Watch it live</a> · <a href="{}">Download the final MMIF of every succeeded file (zip)</a>',
            reverse("runs:batch_live", args=[batch.pk]),
            reverse("runs:batch_mmif_zip", args=[batch.pk]),
        )

    @admin.display(description="live")
    def live(self, batch):
        return format_html('<a href="{}">watch</a>', reverse("runs:batch_live", args=[batch.pk]))

    def has_run_batch_permission(self, request):
        return request.user.has_perm("batches.run_batch")

    def _confirm_then(self, request, queryset, *, verb, count, describe, act):
        """Show what an action will do for each batch; once confirmed, do it and say what happened."""
        if "confirm" not in request.POST:
            context = {
                **self.admin_site.each_context(request),
                "title": f"{verb} the selected batches?",
                "verb": verb,
                "rows": [(batch, describe(batch, count(batch))) for batch in queryset],
                "queryset": queryset,
                "opts": self.model._meta,
                "action": request.POST["action"],
                "action_checkbox_name": ACTION_CHECKBOX_NAME,
            }
            return TemplateResponse(request, "admin/batches/batch/confirm_run_action.html", context)
        for batch in queryset:
            try:
                self.message_user(request, f"{batch.name}: {act(batch)}", messages.SUCCESS)
            except runner.RunnerError as exc:
                self.message_user(request, f"{batch.name}: {exc}", messages.ERROR)
        return None

    @admin.action(description="Start the selected batches", permissions=["run_batch"])
    def start(self, request, queryset):
        def act(batch):
            result = runner.batch_start(batch)
            said = f"started {result.started} file(s)"
            if result.already:
                said += f"; {result.already} already queued, running or done"
            if result.without_input:
                said += (
                    f"; {len(result.without_input)} have no output in the input batch: "
                    + ", ".join(result.without_input[:10])
                    + ("…" if len(result.without_input) > 10 else "")
                )
            return said + "."

        return self._confirm_then(
            request,
            queryset,
            verb="Start",
            count=lambda b: runner.files_to_start(b).count(),
            describe=lambda b, n: f"{n} file(s) will start" + ("" if b.pipeline_id else " — but it has no pipeline"),
            act=act,
        )

    @admin.action(description="Cancel the selected batches", permissions=["run_batch"])
    def cancel(self, request, queryset):
        return self._confirm_then(
            request,
            queryset,
            verb="Cancel",
            count=lambda b: runner.runs_to_cancel(b).count(),
            describe=lambda b, n: f"{n} queued or running file(s) will be cancelled",
            act=lambda b: f"cancelled {runner.batch_cancel(b)} run(s).",
        )

    @admin.action(description="Retry the failed runs of the selected batches", permissions=["run_batch"])
    def retry_failed(self, request, queryset):
        return self._confirm_then(
            request,
            queryset,
            verb="Retry",
            count=lambda b: runner.runs_to_retry(b).count(),
            describe=lambda b, n: f"{n} failed or cancelled file(s) will resume at the step that did not succeed",
            act=lambda b: f"retried {runner.batch_retry_failed(b)} run(s).",
        )

    @admin.action(description="Duplicate the selected batches", permissions=["add"])
    def duplicate(self, request, queryset):
        copies = [services.batch_duplicate(batch, created_by=request.user) for batch in queryset]
        self.message_user(request, f"Created {len(copies)} copies.", messages.SUCCESS)

    @admin.action(description="Combine the selected batches into a new one", permissions=["add"])
    def combine(self, request, queryset):
        return ask_then_create(
            self,
            request,
            queryset,
            form_class=NewBatchForm,
            title="Combine the selected batches",
            create=lambda data, qs: [
                services.batch_combine(qs, name=data["name"], pipeline=data["pipeline"], created_by=request.user)
            ],
        )
