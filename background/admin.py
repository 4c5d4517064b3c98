from django.contrib import admin, messages

from background.dispatcher import jobs_try_again
from background.models import BackgroundJob


@admin.register(BackgroundJob)
class BackgroundJobAdmin(admin.ModelAdmin):
    """Background work is read here, not written: it is recorded by the actions that need it."""

    list_display = ["kind", "target", "status", "attempts", "progress", "error", "created_at", "finished_at"]
    list_filter = ["status", "kind"]
    search_fields = ["=target"]
    search_help_text = "Search by the id of what the job works on (a media file's id for a thumbnail)."
    actions = ["try_again"]
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_try_again_permission(self, request):
        return request.user.has_perm("background.change_backgroundjob")

    @admin.action(description="Try the selected failed jobs again", permissions=["try_again"])
    def try_again(self, request, queryset):
        again = jobs_try_again(queryset)
        self.message_user(request, f"{again} failed job(s) will be tried again.", messages.SUCCESS)
