from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import models
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from batches.admin import MediaFileAdmin, NewBatchForm, action_page, ask_then_create, ask_then_do
from batches.models import Batch
from batches.services import batch_combine, batch_duplicate
from chowda_site.admin_lists import BoundedIdsAdmin
from pipelines.models import Pipeline
from runs import inputs
from runs.downloads import zip_response
from runs.forms import StartForm
from runs.models import RUN_STATUSES, Run, Status, StepRun
from runs.selectors import files_to_start, runs_to_cancel, runs_to_retry, with_progress, with_run_counts
from runs.services import RunnerError, batch_cancel, batch_retry_failed, batch_start, retry_plan, runs_cancel

CONFIRM_TEMPLATE = "admin/batches/batch/confirm_run_action.html"


class ReadOnlyAdminMixin:
    """Runs are written by the runner only; people look at them."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class StepRunInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = StepRun
    extra = 0
    fields = ["position", "app_name", "status", "attempts", "duration", "http_status", "error_message", "files"]
    readonly_fields = fields

    @admin.display(description="MMIF")
    def files(self, step):
        links = [
            (reverse("runs:step_mmif", args=[step.run_id, step.position, kind]), kind)
            for kind, stored in [("input", step.input_mmif), ("output", step.output_mmif), ("error", step.error_mmif)]
            if stored
        ]
        return format_html_join(" ", '<a href="{}">{}</a>', links) or "—"


@admin.register(Run)
class RunAdmin(ReadOnlyAdminMixin, BoundedIdsAdmin):
    list_display = ["guid", "batch", "status", "attempt", "started_at", "finished_at", "final", "live"]
    list_filter = ["status", "superseded", "batch", "steps__app"]
    list_select_related = ["batch", "media_file"]
    search_fields = ["media_file__guid", "batch__name"]
    search_help_text = "Search by GUID or batch name."
    inlines = [StepRunInline]
    show_full_result_count = False
    actions = ["download", "cancel"]
    fields = [
        "batch",
        "media_file",
        "status",
        "attempt",
        "retry_of",
        "superseded",
        "error",
        "created_at",
        "started_at",
        "finished_at",
        "final",
        "live",
    ]
    readonly_fields = fields

    @admin.display(description="GUID", ordering="media_file__guid")
    def guid(self, run):
        return run.media_file.guid

    @admin.display(description="live")
    def live(self, run):
        return format_html('<a href="{}">watch</a>', reverse("runs:run_live", args=[run.pk]))

    @admin.display(description="final MMIF")
    def final(self, run):
        if not run.final_mmif:
            return "—"
        return format_html('<a href="{}">{}.mmif</a>', reverse("runs:run_mmif", args=[run.pk]), run.media_file.guid)

    @admin.action(description="Download the final MMIF of the selected runs (zip)", permissions=["view"])
    def download(self, request, queryset):
        members = (
            queryset.filter(status=Status.SUCCEEDED)
            .exclude(final_mmif="")
            .order_by("media_file__guid", "pk")
            .values_list("pk", "media_file__guid", "final_mmif")
        )

        def named():
            seen = set()
            for pk, guid, name in members.iterator():
                # The same file may have succeeded in several batches: keep every one.
                yield (f"{guid}.mmif" if guid not in seen else f"{guid}.run-{pk}.mmif"), name
                seen.add(guid)

        return zip_response(named(), "runs-mmif.zip")

    @admin.action(description="Cancel the selected runs", permissions=["run_batch"])
    def cancel(self, request, queryset):
        result = runs_cancel(queryset)
        self.message_user(request, result.sentence, messages.SUCCESS if result else messages.WARNING)

    def has_run_batch_permission(self, request):
        return request.user.has_perm("batches.run_batch")


STATUS_COLOURS = {
    "pending": "#9e9e9e",
    "queued": "#757575",
    "running": "#1565c0",
    "succeeded": "#2e7d32",
    "failed": "#c62828",
    "cancelled": "#ef6c00",
}


# The batch's admin lives with the runs: its list counts them and its actions start, cancel and retry
# them, and batches/ sits below runs/ (docs/architecture.md).
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
        return with_progress(queryset, self.value()) if self.value() else queryset


@admin.register(Batch)
class BatchAdmin(BoundedIdsAdmin):
    list_display = ["name", "pipeline", "file_count", "run_counts", "live", "created_by", "created_at"]
    list_filter = ["pipeline", ProgressFilter]
    list_select_related = ["pipeline", "created_by"]
    search_fields = ["name", "media_files__guid"]
    search_help_text = "Search by batch name or by the GUID of a file in it."
    autocomplete_fields = ["input_batch"]
    readonly_fields = [
        "files",
        "created_by",
        "created_at",
        "results",
        "finished_notified_at",
        "failures_notified_at",
        "webhook_problem",
    ]
    # Not the members themselves: a batch of 100,000 files would make a page of megabytes. Files are
    # added and removed by importing them and with the media list's actions.
    fields = [
        "name",
        "description",
        "pipeline",
        "input_batch",
        "input_pipeline",
        "files",
        "created_by",
        "created_at",
        "results",
        "notify_failures_over",
        "webhook_url",
        "finished_notified_at",
        "failures_notified_at",
        "webhook_problem",
    ]
    actions = ["start", "cancel", "retry_failed", "duplicate", "combine"]
    # Django 6 reads a URL typed without a scheme as https: say so now (and silence its warning).
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    def get_queryset(self, request):
        return with_run_counts(super().get_queryset(request))

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

    @admin.display(description="media files")
    def files(self, batch):
        if not batch.pk:
            return "Add files after saving: import them into this batch, or use the media list's actions."
        return format_html(
            '{} file(s) · <a href="{}?batches__id__exact={}">see them in the media list</a>, where actions add '
            'and remove files · <a href="{}">import more</a>',
            batch.media_count,
            reverse("admin:batches_mediafile_changelist"),
            batch.pk,
            reverse("admin:batches_mediafile_import"),
        )

    @admin.display(description="results")
    def results(self, batch):
        if not batch.pk:
            return "—"
        return format_html(
            '<a href="{}">Watch it live</a> · <a href="{}">Download the final MMIF of every succeeded file (zip)</a>'
            ' · <a href="{}" id="upload-inputs">Upload MMIF to start from</a>',
            reverse("runs:batch_live", args=[batch.pk]),
            reverse("runs:batch_mmif_zip", args=[batch.pk]),
            reverse("admin:batches_batch_upload_inputs", args=[batch.pk]),
        )

    @admin.display(description="live")
    def live(self, batch):
        return format_html('<a href="{}">watch</a>', reverse("runs:batch_live", args=[batch.pk]))

    def get_urls(self):
        upload = self.admin_site.admin_view(self.upload_inputs_view)
        return [path("<int:pk>/inputs/", upload, name="batches_batch_upload_inputs"), *super().get_urls()]

    def upload_inputs_view(self, request, pk: int):
        """Upload MMIF made elsewhere (a file named after a GUID, or a zip of them) for the batch's files to start
        from."""
        batch = get_object_or_404(Batch, pk=pk)
        if not self.has_change_permission(request, batch):
            raise PermissionDenied
        form = UploadInputsForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            try:
                result = inputs.batch_inputs_upload(batch, form.cleaned_data["file"], created_by=request.user)
            except inputs.InputsError as exc:
                form.add_error("file", str(exc))
            else:
                self.message_user(request, result.sentence, messages.SUCCESS)
                return redirect("admin:batches_batch_change", batch.pk)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Upload MMIF for batch {batch.name} to start from",
            "form": form,
            "batch": batch,
            "opts": self.model._meta,
            "inputs": batch.inputs.select_related("media_file").order_by("media_file__guid")[:100],
        }
        return TemplateResponse(request, "admin/batches/batch/upload_inputs.html", context)

    def has_run_batch_permission(self, request):
        return request.user.has_perm("batches.run_batch")

    def _confirm_then(self, request, queryset, *, verb, count, describe, act):
        """Show what an action will do for each batch; once confirmed, do it and say what happened."""
        if "confirm" not in request.POST:
            return action_page(
                self,
                request,
                queryset,
                CONFIRM_TEMPLATE,
                title=f"{verb} the selected batches?",
                verb=verb,
                rows=[(batch, describe(batch, count(batch))) for batch in queryset],
            )
        for batch in queryset:
            try:
                result = act(batch)
            except RunnerError as exc:
                self.message_user(request, f"{batch.name}: {exc}", messages.ERROR)
            else:
                level = messages.SUCCESS if result else messages.WARNING
                self.message_user(request, f"{batch.name}: {result.sentence}", level)
        return None

    @admin.action(description="Start the selected batches", permissions=["run_batch"])
    def start(self, request, queryset):
        if len(queryset) == 1 and queryset[0].pipeline_id:
            return self._start_one(request, queryset)
        return self._confirm_then(
            request,
            queryset,
            verb="Start",
            count=lambda b: files_to_start(b).count(),
            describe=lambda b, n: f"{n} file(s) will start" + ("" if b.pipeline_id else " — but it has no pipeline"),
            act=batch_start,
        )

    def _start_one(self, request, queryset):
        """One batch: the confirmation page also offers a pilot and parameter overrides for this start."""
        batch = queryset[0]
        confirmed = "confirm" in request.POST
        form = StartForm(request.POST if confirmed else None, batch=batch)
        if confirmed and form.is_valid():
            try:
                result = batch_start(
                    batch, pilot=form.pilot(), overrides=form.overrides(), start_from=form.start_from()
                )
            except RunnerError as exc:
                form.add_error(None, str(exc))  # shown above the form, with what the curator typed kept
            else:
                level = messages.SUCCESS if result else messages.WARNING
                self.message_user(request, f"{batch.name}: {result.sentence}", level)
                return None
        return action_page(
            self,
            request,
            queryset,
            CONFIRM_TEMPLATE,
            title="Start the selected batch?",
            verb="Start",
            rows=[(batch, f"{files_to_start(batch).count()} file(s) will start, or the pilot you choose below")],
            form=form,
        )

    @admin.action(description="Cancel the selected batches", permissions=["run_batch"])
    def cancel(self, request, queryset):
        return self._confirm_then(
            request,
            queryset,
            verb="Cancel",
            count=lambda b: runs_to_cancel(b).count(),
            describe=lambda b, n: f"{n} queued or running file(s) will be cancelled",
            act=batch_cancel,
        )

    @admin.action(description="Retry the failed runs of the selected batches", permissions=["run_batch"])
    def retry_failed(self, request, queryset):
        return self._confirm_then(
            request,
            queryset,
            verb="Retry",
            count=lambda b: runs_to_retry(b).count(),
            describe=_retry_described,
            act=batch_retry_failed,
        )

    @admin.action(description="Duplicate the selected batches", permissions=["add"])
    def duplicate(self, request, queryset):
        copies = [batch_duplicate(batch, created_by=request.user) for batch in queryset]
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
                batch_combine(qs, name=data["name"], pipeline=data["pipeline"], created_by=request.user)
            ],
        )


def _retry_described(batch, count: int) -> str:
    said = f"{count} failed or cancelled file(s) will resume at the step that did not succeed"
    try:
        plan = retry_plan(batch)
    except RunnerError as exc:
        return f"{said} — but the pipeline cannot run now: {exc}"
    return f"{said}. {plan.sentence}" if plan.sentence else said


# Reusing earlier MMIF (runs/inputs.py): from the runs list, from the media files list, and an upload per batch.


class UploadInputsForm(forms.Form):
    file = forms.FileField(
        help_text="One <GUID>.mmif (or .json) file, or a zip of them. Each is checked with mmif-python and must "
        "describe its file's own media; all or nothing."
    )


class ReuseRunsForm(forms.Form):
    name = forms.CharField(max_length=200, help_text="The new batch's name.")
    pipeline = forms.ModelChoiceField(
        Pipeline.objects.all(), help_text="The apps still to run: usually only those after the ones already done."
    )


class ReuseLatestForm(ReuseRunsForm):
    from_pipeline = forms.ModelChoiceField(
        Pipeline.objects.all(),
        required=False,
        label="Latest MMIF of",
        help_text="Start each file from its latest successful MMIF of this pipeline (any batch); empty: of any.",
    )


@admin.action(description="Create a batch that starts from the selected runs' MMIF", permissions=["add_batch"])
def batch_from_selected_runs(modeladmin, request, queryset):
    return ask_then_do(
        modeladmin,
        request,
        queryset,
        form_class=ReuseRunsForm,
        title="Create a batch that starts from these runs' MMIF",
        do=lambda data, runs: (
            inputs.batch_from_runs(runs, name=data["name"], pipeline=data["pipeline"], created_by=request.user).sentence
        ),
    )


@admin.action(description="Create a batch that starts from each file's latest MMIF", permissions=["add_batch"])
def batch_from_latest_mmif(modeladmin, request, queryset):
    return ask_then_do(
        modeladmin,
        request,
        queryset,
        form_class=ReuseLatestForm,
        title="Create a batch that starts from each file's latest MMIF",
        do=lambda data, files: (
            inputs.batch_from_latest(
                files,
                name=data["name"],
                pipeline=data["pipeline"],
                from_pipeline=data.get("from_pipeline"),
                created_by=request.user,
            ).sentence
        ),
    )


def _may_add_batch(modeladmin, request) -> bool:
    return request.user.has_perm("batches.add_batch")


RunAdmin.actions = [*RunAdmin.actions, batch_from_selected_runs]
RunAdmin.has_add_batch_permission = _may_add_batch
MediaFileAdmin.actions = [*MediaFileAdmin.actions, batch_from_latest_mmif]
