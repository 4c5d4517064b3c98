from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, OuterRef, Subquery
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from sources.live import latest_sync_event
from sources.models import MediaSource, Schedule, SourceKind, SyncRun
from sources.services import SourceError, next_times, schedule_check, schedule_save, schedules_changed, source_sync

COUNTS = ["new", "updated", "unchanged", "missing", "skipped", "errors"]


class SyncRunInline(admin.TabularInline):
    model = SyncRun
    fields = ["sync_link", "status", "trigger", "started_at", "finished_at", *COUNTS]
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = False
    verbose_name_plural = "Latest syncs"

    def get_queryset(self, request):
        latest = SyncRun.objects.filter(source=OuterRef("source")).order_by("-pk").values("pk")[:10]
        return super().get_queryset(request).filter(pk__in=Subquery(latest)).order_by("-pk")

    @admin.display(description="sync")
    def sync_link(self, sync):
        return format_html('<a href="{}">Sync {}</a>', reverse("admin:sources_syncrun_change", args=[sync.pk]), sync.pk)


class MediaSourceForm(forms.ModelForm):
    class Meta:
        model = MediaSource
        fields = [
            "name",
            "kind",
            "enabled",
            "collection",
            "guid_rule",
            "workspace_id",
            "bucket",
            "prefix",
            "endpoint_url",
            "api_url",
            "credentials_env",
        ]

    def clean(self):
        data = super().clean()
        # The fields of another kind are cleared, so a page never shows a bucket for a Sony Ci source.
        kind = data.get("kind")
        unused = {
            SourceKind.SONYCI: ["bucket", "prefix", "endpoint_url"],
            SourceKind.S3: ["workspace_id", "api_url"],
            SourceKind.HTTP_FEED: ["workspace_id", "bucket", "prefix", "endpoint_url"],
        }.get(kind, [])
        for name in unused:
            data[name] = ""
        return data


@admin.register(MediaSource)
class MediaSourceAdmin(admin.ModelAdmin):
    form = MediaSourceForm
    list_display = ["name", "kind", "where", "enabled", "files", "last_sync"]
    list_filter = ["kind", "enabled"]
    search_fields = ["name"]
    actions = ["sync_now"]
    inlines = [SyncRunInline]
    readonly_fields = ["credentials"]
    fieldsets = [
        (None, {"fields": ["name", "kind", "enabled", "collection", "guid_rule"]}),
        ("Sony Ci", {"fields": ["workspace_id"]}),
        ("S3", {"fields": ["bucket", "prefix", "endpoint_url"]}),
        ("Sony Ci API, or the feed", {"fields": ["api_url"]}),
        (
            "Credentials",
            {
                "fields": ["credentials_env", "credentials"],
                "description": "Credentials live only in the workers' environment; this page shows whether "
                "each variable is set, never its value.",
            },
        ),
    ]

    def get_queryset(self, request):
        last = SyncRun.objects.filter(source=OuterRef("pk")).order_by("-pk")
        return (
            super()
            .get_queryset(request)
            .annotate(
                file_count=Count("items", distinct=True),
                last_sync_status=Subquery(last.values("status")[:1]),
                last_sync_id=Subquery(last.values("pk")[:1]),
            )
        )

    def change_view(self, request, object_id, form_url="", extra_context=None):
        # The latest sync, kept current over a websocket while the page is open (sources/static/sources/sync_live.js).
        latest = latest_sync_event(int(object_id)) if str(object_id).isdigit() else None
        extra_context = {**(extra_context or {}), "latest_sync": latest}
        return super().change_view(request, object_id, form_url, extra_context)

    @admin.display(description="where")
    def where(self, source):
        if source.kind == SourceKind.S3:
            return f"s3://{source.bucket}/{source.prefix}"
        if source.kind == SourceKind.SONYCI:
            return f"workspace {source.workspace_id}"
        return source.api_url

    @admin.display(description="files", ordering="file_count")
    def files(self, source):
        url = reverse("admin:batches_mediafile_changelist") + f"?source_items__source__id__exact={source.pk}"
        return format_html('<a href="{}">{}</a>', url, source.file_count)

    @admin.display(description="last sync")
    def last_sync(self, source):
        if not source.last_sync_id:
            return "never"
        url = reverse("admin:sources_syncrun_change", args=[source.last_sync_id])
        status = dict(SyncRun._meta.get_field("status").choices).get(source.last_sync_status, "")
        return format_html('<a href="{}">{}</a>', url, status)

    @admin.display(description="credentials set")
    def credentials(self, source):
        status = source.credentials_status()
        if not status:
            return "None named: " + (
                "the workers' own AWS credentials are used." if source.kind == SourceKind.S3 else "none are sent."
            )
        return format_html_join(
            "",
            "<div><code>{}</code>: {}</div>",
            ((name, "set" if present else "NOT SET for this process") for name, present in status),
        )

    @admin.action(description="Sync now", permissions=["change"])
    def sync_now(self, request, queryset):
        for source in queryset:
            try:
                asked = source_sync(source, trigger=f"admin ({request.user})", user=request.user)
            except (SourceError, PermissionDenied) as exc:
                self.message_user(request, str(exc), messages.ERROR)
            else:
                self.message_user(request, asked.sentence, messages.SUCCESS if asked.started else messages.WARNING)


@admin.register(SyncRun)
class SyncRunAdmin(admin.ModelAdmin):
    list_display = ["__str__", "source", "status", "trigger", "created_at", "finished_at", "seen", *COUNTS]
    list_filter = ["status", "source"]
    list_select_related = ["source"]
    readonly_fields = [
        "source",
        "status",
        "sentence",
        "trigger",
        "started_by",
        "created_at",
        "started_at",
        "finished_at",
        "pages",
        "seen",
        *COUNTS,
        "skipped_list",
        "error_list",
    ]
    exclude = ["skipped_examples", "error_messages"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="first skipped")
    def skipped_list(self, sync):
        return format_html_join("", "<div>{}</div>", ((line,) for line in sync.skipped_examples)) or "—"

    @admin.display(description="first errors")
    def error_list(self, sync):
        return format_html_join("", "<div>{}</div>", ((line,) for line in sync.error_messages)) or "—"

    def change_view(self, request, object_id, form_url="", extra_context=None):
        # A sync still going shows its progress: the page reloads itself until it ends.
        sync = SyncRun.objects.filter(pk=object_id).only("status").first()
        extra_context = {
            **(extra_context or {}),
            "sync_active": sync is not None and sync.status in ("pending", "running"),
        }
        return super().change_view(request, object_id, form_url, extra_context)


class ScheduleForm(forms.ModelForm):
    class Meta:
        model = Schedule
        fields = ["name", "enabled", "cron", "timezone", "action", "source", "collection", "pipeline", "overrides"]

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        candidate = self.instance
        for name, value in data.items():
            setattr(candidate, name, value)
        try:
            schedule_check(candidate)
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                self.add_error(field if field in self.fields else None, errors)
        return data


@admin.register(Schedule)
class ScheduleAdmin(admin.ModelAdmin):
    form = ScheduleForm
    list_display = ["name", "enabled", "cron", "timezone", "action", "next_run", "last_ran_at", "last_result"]
    list_filter = ["enabled", "action"]
    list_select_related = ["last_sync", "last_batch"]
    readonly_fields = ["next_three", "last_ran_at", "last_outcome", "last_result"]
    actions = ["enable", "disable"]

    @admin.display(description="next run")
    def next_run(self, schedule):
        times = next_times(schedule) if schedule.enabled else []
        return f"{times[0]:%Y-%m-%d %H:%M %Z}" if times else "—"

    @admin.display(description="next three runs")
    def next_three(self, schedule):
        if not schedule.pk:
            return "Shown once it is saved."
        return ", ".join(f"{at:%Y-%m-%d %H:%M %Z}" for at in next_times(schedule)) or "—"

    @admin.display(description="last made")
    def last_result(self, schedule):
        if schedule.last_batch_id:
            url = reverse("admin:batches_batch_change", args=[schedule.last_batch_id])
            return format_html('<a href="{}">batch {}</a>', url, schedule.last_batch)
        if schedule.last_sync_id:
            url = reverse("admin:sources_syncrun_change", args=[schedule.last_sync_id])
            return format_html('<a href="{}">sync {}</a>', url, schedule.last_sync_id)
        return "—"

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        schedule_save(obj)

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        schedules_changed()

    def delete_queryset(self, request, queryset):
        super().delete_queryset(request, queryset)
        schedules_changed()

    @admin.action(description="Enable the selected schedules", permissions=["change"])
    def enable(self, request, queryset):
        count = queryset.update(enabled=True)
        schedules_changed()
        self.message_user(request, f"Enabled {count} schedule(s).", messages.SUCCESS)

    @admin.action(description="Disable the selected schedules", permissions=["change"])
    def disable(self, request, queryset):
        count = queryset.update(enabled=False)
        schedules_changed()
        self.message_user(request, f"Disabled {count} schedule(s); they do nothing until enabled.", messages.SUCCESS)
