"""Final MMIF and deliveries in the admin, and the actions that mark finals and deliver batches.

The runs', batches' and media files' admins belong to apps below this one, which must not import it: this
module adds its actions and its list filter to those admins' classes when the admin loads it, so they compose
with whatever else those classes hold.
"""

from django import forms
from django.contrib import admin, messages
from django.db.models import Exists, OuterRef
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from batches.admin import MediaFileAdmin, action_page
from deliverables.destinations import destination_choices
from deliverables.formats import KIND_LABELS
from deliverables.models import Delivery, FinalMmif
from deliverables.services import DeliverablesError, batch_deliver, batch_mark_final, runs_mark_final
from runs.admin import BatchAdmin, ReadOnlyAdminMixin, RunAdmin

MARK_FINAL = "deliverables.add_finalmmif"
DELIVER = "deliverables.add_delivery"


class DeliverForm(forms.Form):
    destination = forms.ChoiceField(
        choices=destination_choices,
        help_text="Where the operator lets deliveries go (CHOWDA_DELIVERY_DESTINATIONS).",
        error_messages={
            "required": "Choose a destination; if none is listed, ask an operator to configure "
            "CHOWDA_DELIVERY_DESTINATIONS."
        },
    )
    kinds = forms.MultipleChoiceField(
        label="Deliverables",
        choices=list(KIND_LABELS.items()),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Sent beside each file's final MMIF.",
    )


class FinalMmifFilter(admin.SimpleListFilter):
    title = "final MMIF"
    parameter_name = "final_mmif"

    def lookups(self, request, model_admin):
        return [("yes", "Has one"), ("no", "Has none")]

    def queryset(self, request, queryset):
        if self.value() not in ("yes", "no"):
            return queryset
        has_final = Exists(FinalMmif.objects.filter(media_file=OuterRef("pk")))
        return queryset.filter(has_final) if self.value() == "yes" else queryset.exclude(has_final)


def may_mark_final(modeladmin, request) -> bool:
    return request.user.has_perm(MARK_FINAL)


def may_deliver(modeladmin, request) -> bool:
    return request.user.has_perm(DELIVER)


def say(modeladmin, request, prefix: str, act) -> None:
    """Call ``act()`` and show its result's sentence, or the error's, after ``prefix``."""
    try:
        result = act()
    except DeliverablesError as exc:
        modeladmin.message_user(request, f"{prefix}{exc}", messages.ERROR)
    else:
        modeladmin.message_user(request, f"{prefix}{result.sentence}", messages.SUCCESS if result else messages.WARNING)


@admin.action(description="Mark the selected runs' MMIF as final", permissions=["mark_final"])
def mark_runs_final(modeladmin, request, queryset):
    say(modeladmin, request, "", lambda: runs_mark_final(queryset, request.user))


@admin.action(description="Mark each file's latest successful run as final", permissions=["mark_final"])
def mark_batches_final(modeladmin, request, queryset):
    for batch in queryset:
        say(modeladmin, request, f"{batch.name}: ", lambda batch=batch: batch_mark_final(batch, request.user))


@admin.action(description="Deliver the selected batches' final MMIF and deliverables", permissions=["deliver"])
def deliver_batches(modeladmin, request, queryset):
    form = DeliverForm(request.POST if "apply" in request.POST else None)
    if form.is_valid():
        for batch in queryset:
            say(
                modeladmin,
                request,
                f"{batch.name}: ",
                lambda batch=batch: batch_deliver(
                    batch, form.cleaned_data["destination"], form.cleaned_data["kinds"], request.user
                ),
            )
        return None
    return action_page(
        modeladmin,
        request,
        queryset,
        "admin/batches/action_form.html",
        title="Deliver the selected batches",
        submit_label="Deliver",
        form=form,
    )


RunAdmin.actions = [*RunAdmin.actions, mark_runs_final]
RunAdmin.has_mark_final_permission = may_mark_final
BatchAdmin.actions = [*BatchAdmin.actions, mark_batches_final, deliver_batches]
BatchAdmin.has_mark_final_permission = may_mark_final
BatchAdmin.has_deliver_permission = may_deliver
MediaFileAdmin.list_filter = [*MediaFileAdmin.list_filter, FinalMmifFilter]


@admin.register(FinalMmif)
class FinalMmifAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["media_file", "pipeline", "run_link", "marked_by", "marked_at"]
    list_filter = ["pipeline"]
    list_select_related = ["media_file", "pipeline", "run__batch", "marked_by"]
    search_fields = ["media_file__guid"]
    search_help_text = "Search by GUID."

    @admin.display(description="run")
    def run_link(self, final):
        return format_html('<a href="{}">{}</a>', reverse("runs:run_live", args=[final.run_id]), final.run.batch.name)


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "batch",
        "destination",
        "delivered_at",
        "delivered_by",
        "finished_at",
        "files_delivered",
        "failure_count",
    ]
    list_filter = ["destination"]
    list_select_related = ["batch", "delivered_by"]
    search_fields = ["batch__name"]
    fields = [
        "batch",
        "destination",
        "target",
        "kinds",
        "delivered_by",
        "delivered_at",
        "finished_at",
        "files_delivered",
        "failure_list",
    ]
    readonly_fields = fields

    @admin.display(description="failures")
    def failure_count(self, delivery):
        return len(delivery.failures)

    @admin.display(description="failures")
    def failure_list(self, delivery):
        if delivery.finished_at is None:
            return "Still delivering: reload this page to see what failed."
        if not delivery.failures:
            return "None: every file was delivered."
        return format_html(
            "<ul>{}</ul>", format_html_join("", "<li>{}</li>", ((f["problem"],) for f in delivery.failures))
        )
