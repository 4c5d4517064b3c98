from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from runs.downloads import zip_response
from runs.models import Run, Status, StepRun
from runs.services import runs_cancel


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
class RunAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
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
        cancelled = runs_cancel(queryset, reason="The run was cancelled.")
        self.message_user(request, f"Cancelled {cancelled} run(s).", messages.SUCCESS)

    def has_run_batch_permission(self, request):
        return request.user.has_perm("batches.run_batch")
