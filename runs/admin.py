from django.contrib import admin
from django.utils.html import format_html

from runs.models import Run, StepRun


class ReadOnlyAdminMixin:
    """Runs are written by the runner only; people look at them."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


def _file_link(field_file, label):
    if not field_file:
        return "—"
    return format_html('<a href="{}">{}</a>', field_file.url, label)


class StepRunInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = StepRun
    extra = 0
    fields = ["position", "app_name", "status", "attempts", "duration", "http_status", "error_message", "files"]
    readonly_fields = fields

    @admin.display(description="MMIF")
    def files(self, step):
        links = [
            _file_link(step.input_mmif, "input"),
            _file_link(step.output_mmif, "output"),
            _file_link(step.error_mmif, "error"),
        ]
        return format_html(" ".join(["{}"] * len(links)), *links)


@admin.register(Run)
class RunAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["guid", "batch", "status", "attempt", "started_at", "finished_at"]
    list_filter = ["status", "batch", "steps__app"]
    list_select_related = ["batch", "media_file"]
    search_fields = ["media_file__guid", "batch__name"]
    search_help_text = "Search by GUID or batch name."
    inlines = [StepRunInline]
    show_full_result_count = False

    @admin.display(description="GUID", ordering="media_file__guid")
    def guid(self, run):
        return run.media_file.guid
