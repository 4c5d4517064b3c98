from django import forms
from django.contrib import admin, messages
from django.utils.html import format_html, format_html_join

from chowda_site.admin_lists import BoundedIdsAdmin
from clams_apps.client import AppError
from clams_apps.models import ClamsApp, Health, MediaAccess, Mode
from clams_apps.services import (
    RUNNER_FIELDS,
    app_apply_metadata,
    app_metadata_for_change,
    app_refresh_metadata,
    runner_change_refused,
)

HEALTH_COLOURS = {Health.OK: "#2e7d32", Health.UNREACHABLE: "#c62828", Health.UNKNOWN: "#757575"}


class ClamsAppForm(forms.ModelForm):
    """Reads the app's metadata on every save (from its web service, or by its metadata command): an app Chowda
    cannot read is never saved."""

    endpoint = forms.URLField(
        max_length=500,
        assume_scheme="http",
        required=False,
        help_text=ClamsApp._meta.get_field("endpoint").help_text,
    )
    metadata_json = forms.CharField(
        label="Metadata JSON",
        required=False,
        widget=forms.Textarea(attrs={"rows": 6, "cols": 80}),
        help_text="An app run as a job without a metadata command: paste what its metadata.py prints.",
    )

    class Meta:
        model = ClamsApp
        fields = [
            "name",
            "mode",
            "endpoint",
            "command",
            "metadata_command",
            "image",
            "namespace",
            "service_account",
            "gpus",
            "memory",
            "node_selector",
            "tolerations",
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
        for optional in ("media_access", "mode"):  # scripts that post the older form keep the default
            if optional in self.fields:
                self.fields[optional].required = False
        self.fetched_metadata = None
        self.user = None  # set by the admin: who may change what the app runs

    def clean(self):
        cleaned = super().clean()
        cleaned["media_access"] = cleaned.get("media_access") or MediaAccess.DIRECT
        mode = cleaned["mode"] = cleaned.get("mode") or self.instance.mode or Mode.SERVICE
        if self.user is not None:
            refused = runner_change_refused(
                self.user,
                self.instance if self.instance.pk else None,
                {k: v for k, v in cleaned.items() if k in self.changed_data or k == "mode"},
            )
            if refused:
                raise forms.ValidationError(refused)
        endpoint = cleaned.get("endpoint")
        if mode == Mode.SERVICE and not endpoint:
            self.add_error("endpoint", "Give the URL of the app's web service.")
            return cleaned
        try:
            self.fetched_metadata = app_metadata_for_change(
                self.instance,
                endpoint=endpoint,
                enabled=bool(cleaned.get("enabled")),
                mode=mode,
                metadata_command=cleaned.get("metadata_command", ""),
                metadata_json=cleaned.get("metadata_json") or None,
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
    list_display = ["name", "mode", "runs_as", "version", "health_badge", "max_concurrency", "timeout", "enabled"]
    list_filter = ["mode", "health", "enabled"]
    search_fields = ["name", "endpoint", "command", "image"]
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
        (None, {"fields": ["name", "mode", "endpoint", "description", "enabled"]}),
        (
            "Run as a job (docs: Apps as jobs)",
            {
                "fields": ["command", "metadata_command", "metadata_json", "image"],
                "description": "For an app run as a command on the worker, or as Kubernetes Jobs. Setting a "
                "command or an image needs the permission to set what an app runs.",
            },
        ),
        (
            "Kubernetes",
            {"fields": ["namespace", "service_account", "gpus", "memory", "node_selector", "tolerations"]},
        ),
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
            return self.fieldsets[:5]
        return self.fieldsets

    def get_readonly_fields(self, request, obj=None):
        """What the app runs is shown, not offered, to whoever may not set it (runner_change_refused)."""
        readonly = list(super().get_readonly_fields(request, obj))
        if not request.user.has_perm("clams_apps.set_app_runner"):
            readonly += (
                ["mode", *RUNNER_FIELDS, "metadata_json"] if obj is None or obj.is_job else ["mode", *RUNNER_FIELDS]
            )
        return readonly

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)

        class WithUser(form):
            def __init__(self, *args, **form_kwargs):
                super().__init__(*args, **form_kwargs)
                self.user = request.user

        return WithUser

    @admin.display(description="runs as")
    def runs_as(self, app):
        return app.where

    @admin.display(description="metadata JSON")
    def metadata_json(self, app):
        return "—"

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
