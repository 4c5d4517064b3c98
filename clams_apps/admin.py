from django import forms
from django.contrib import admin, messages
from django.utils.html import format_html, format_html_join

from chowda_site.admin_lists import BoundedIdsAdmin
from clams_apps.client import AppError
from clams_apps.models import ClamsApp, Health, MediaAccess
from clams_apps.services import app_apply_metadata, app_metadata_for_change, app_refresh_metadata

HEALTH_COLOURS = {Health.OK: "#2e7d32", Health.UNREACHABLE: "#c62828", Health.UNKNOWN: "#757575"}


class ClamsAppForm(forms.ModelForm):
    """Fetches the app's metadata on every save: an app Chowda cannot read is never saved."""

    endpoint = forms.URLField(
        max_length=500,
        assume_scheme="http",
        help_text=ClamsApp._meta.get_field("endpoint").help_text,
    )

    class Meta:
        model = ClamsApp
        fields = [
            "name",
            "endpoint",
            "description",
            "max_concurrency",
            "timeout",
            "media_access",
            "media_root",
            "enabled",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "name" in self.fields:
            self.fields["name"].required = False
            self.fields["name"].help_text = "Leave empty to use the name the app gives itself."
        if "media_access" in self.fields:  # scripts that post the older form keep the default
            self.fields["media_access"].required = False
        self.fetched_metadata = None

    def clean(self):
        cleaned = super().clean()
        cleaned["media_access"] = cleaned.get("media_access") or MediaAccess.DIRECT
        endpoint = cleaned.get("endpoint")
        if not endpoint:
            return cleaned
        try:
            self.fetched_metadata = app_metadata_for_change(
                self.instance, endpoint=endpoint, enabled=bool(cleaned.get("enabled"))
            )
        except AppError as exc:
            raise forms.ValidationError(str(exc)) from None
        if self.fetched_metadata is not None and not cleaned.get("name"):
            cleaned["name"] = self.fetched_metadata.get("name", "")
            if ClamsApp.objects.exclude(pk=self.instance.pk).filter(name=cleaned["name"]).exists():
                self.add_error("name", f"An app named {cleaned['name']!r} exists already; give this one a name.")
        return cleaned

    def save(self, commit=True):
        if self.fetched_metadata is not None:
            app_apply_metadata(self.instance, self.fetched_metadata)
        return super().save(commit)


@admin.register(ClamsApp)
class ClamsAppAdmin(BoundedIdsAdmin):
    form = ClamsAppForm
    list_display = ["name", "endpoint", "version", "health_badge", "max_concurrency", "timeout", "enabled"]
    list_filter = ["health", "enabled"]
    search_fields = ["name", "endpoint"]
    actions = ["refresh_metadata"]
    readonly_fields = [
        "identifier",
        "version",
        "input_types",
        "output_types",
        "parameter_table",
        "health_badge",
        "health_checked_at",
        "metadata_fetched_at",
    ]
    fieldsets = [
        (None, {"fields": ["name", "endpoint", "description", "enabled"]}),
        ("Limits", {"fields": ["max_concurrency", "timeout"]}),
        ("Media", {"fields": ["media_access", "media_root"]}),
        (
            "What the app says about itself",
            {
                "fields": [
                    "identifier",
                    "version",
                    "input_types",
                    "output_types",
                    "parameter_table",
                    "metadata_fetched_at",
                    "health_badge",
                    "health_checked_at",
                ]
            },
        ),
    ]

    def get_fieldsets(self, request, obj=None):
        if obj is None:  # nothing fetched yet
            return self.fieldsets[:3]
        return self.fieldsets

    @admin.display(description="health", ordering="health")
    def health_badge(self, app):
        return format_html('<strong style="color:{}">{}</strong>', HEALTH_COLOURS[app.health], app.get_health_display())

    @admin.display(description="identifier")
    def identifier(self, app):
        return app.app_metadata.identifier if app.app_metadata else "—"

    @admin.display(description="version")
    def version(self, app):
        return (app.app_metadata.version or "unknown") if app.app_metadata else "—"

    @admin.display(description="input types")
    def input_types(self, app):
        if not app.app_metadata:
            return "—"
        return (
            format_html_join(
                "",
                "<div>{}</div>",
                (
                    (" or ".join(alt.short_name + ("" if alt.required else " (optional)") for alt in entry),)
                    for entry in app.app_metadata.inputs
                ),
            )
            or "none"
        )

    @admin.display(description="output types")
    def output_types(self, app):
        if not app.app_metadata:
            return "—"
        return ", ".join(out.short_name for out in app.app_metadata.outputs) or "none"

    @admin.display(description="parameters")
    def parameter_table(self, app):
        if not app.app_metadata:
            return "Not fetched yet: use “Refresh metadata”."
        rows = format_html_join(
            "",
            "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    p.name,
                    p.type,
                    repr(p.default) if p.has_default else "required",
                    ", ".join(map(str, p.choices)) or "—",
                    "yes" if p.multivalued else "no",
                    p.description,
                )
                for p in app.app_metadata.parameters
            ),
        )
        return format_html(
            "<table><thead><tr><th>name</th><th>type</th><th>default</th><th>choices</th>"
            "<th>multivalued</th><th>description</th></tr></thead><tbody>{}</tbody></table>",
            rows,
        )

    @admin.action(description="Refresh metadata of the selected apps", permissions=["change"])
    def refresh_metadata(self, request, queryset):
        refreshed = 0
        for app in queryset:
            try:
                app_refresh_metadata(app)
                refreshed += 1
            except AppError as exc:
                self.message_user(request, f"{app.name}: {exc} It is marked unreachable.", messages.ERROR)
        if refreshed:
            self.message_user(request, f"Refreshed the metadata of {refreshed} app(s).", messages.SUCCESS)
