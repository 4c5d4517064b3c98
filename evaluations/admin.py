from django import forms
from django.contrib import admin, messages
from django.db.models import Count
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html

from evaluations.gold import GoldError
from evaluations.models import Evaluation, GoldSet, Metric
from evaluations.services import (
    EvaluationError,
    evaluation_checked,
    evaluation_start,
    gold_files_checked,
    gold_files_store,
)


class GoldSetForm(forms.ModelForm):
    upload = forms.FileField(
        required=False,
        help_text="One gold file named <GUID>.<ext> (as cpb-aacip-123.csv), or a zip of them. On a gold set that has "
        "files, these are added, and replace a file's earlier gold. All or nothing: a wrong file stores none.",
    )

    class Meta:
        model = GoldSet
        fields = ["name", "kind", "description"]

    def clean(self):
        cleaned = super().clean()
        upload, kind = cleaned.get("upload"), cleaned.get("kind") or (self.instance.kind if self.instance.pk else None)
        if self.instance.pk is None and not upload:
            self.add_error("upload", "Upload the gold: a zip of <GUID>.<ext> files, or one such file.")
        if upload and kind:
            try:
                self.checked = gold_files_checked(kind, upload)
            except GoldError as exc:
                self.add_error("upload", str(exc))
        return cleaned


@admin.register(GoldSet)
class GoldSetAdmin(admin.ModelAdmin):
    form = GoldSetForm
    list_display = ["name", "kind", "file_count", "created_by", "created_at"]
    list_select_related = ["created_by"]
    list_filter = ["kind"]
    search_fields = ["name"]
    show_full_result_count = False

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(file_count=Count("files"))

    def get_readonly_fields(self, request, obj=None):
        return ["kind"] if obj is not None else []  # its files were checked for their kind

    @admin.display(description="files", ordering="file_count")
    def file_count(self, gold_set):
        return gold_set.file_count

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)
        checked = getattr(form, "checked", None)
        if checked is not None:
            added = gold_files_store(obj, checked)
            self.message_user(request, added.sentence, messages.SUCCESS)


class EvaluationForm(forms.ModelForm):
    step = forms.CharField(
        required=False,
        help_text="The step whose output is scored: its position (1, 2…) or its app's name; blank for the last step.",
    )
    parameters = forms.JSONField(
        required=False,
        initial=dict,
        help_text='The metric\'s parameters, blank for its defaults: {"normalise": true} for WER, CER and OCR; '
        '{"min_overlap": 0.5} for time frames; {"tolerance_ms": 500} for time points and OCR.',
    )
    label_map = forms.JSONField(
        required=False,
        initial=dict,
        help_text='The app\'s labels to the gold\'s, as {"speech": "S", "music": "M"}; labels not named stay.',
    )

    class Meta:
        model = Evaluation
        fields = ["batch", "gold_set", "step", "metric", "parameters", "label_map"]

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        try:
            self.checked = evaluation_checked(
                batch=cleaned["batch"],
                gold_set=cleaned["gold_set"],
                metric=cleaned["metric"],
                step=cleaned.get("step") or None,
                parameters=cleaned.get("parameters") or {},
                label_map=cleaned.get("label_map") or {},
            )
        except EvaluationError as exc:
            raise forms.ValidationError(str(exc)) from None
        return cleaned


@admin.register(Evaluation)
class EvaluationAdmin(admin.ModelAdmin):
    """Evaluations are started here and read on their own page (the change link goes there)."""

    form = EvaluationForm
    list_display = [
        "id",
        "batch",
        "step",
        "gold_set",
        "metric",
        "status",
        "score",
        "started_by",
        "created_at",
        "results",
    ]
    list_select_related = ["batch", "gold_set", "started_by"]
    list_filter = ["status", "metric"]
    search_fields = ["batch__name", "gold_set__name"]
    show_full_result_count = False

    @admin.display(description="score")
    def score(self, evaluation):
        value = evaluation.aggregate.get("score")
        return "—" if value is None else f"{value:.3f}"

    @admin.display(description="results")
    def results(self, evaluation):
        return format_html('<a href="{}">results</a>', reverse("evaluations:evaluation", args=[evaluation.pk]))

    def get_changeform_initial_data(self, request):
        initial = super().get_changeform_initial_data(request)
        initial.setdefault("metric", Metric.TIMEFRAME_F1)
        return initial

    def change_view(self, request, object_id, form_url="", extra_context=None):
        return HttpResponseRedirect(reverse("evaluations:evaluation", args=[object_id]))

    def save_model(self, request, obj, form, change):
        checked = form.checked
        form.instance = evaluation_start(
            batch=checked["batch"],
            gold_set=checked["gold_set"],
            metric=checked["metric"],
            step=checked["step"],
            parameters=checked["parameters"],
            label_map=checked["label_map"],
            started_by=request.user,
        )
        obj.pk = form.instance.pk

    def response_add(self, request, obj, post_url_continue=None):
        self.message_user(request, f"Evaluation {obj.pk} started: its page shows its progress.", messages.SUCCESS)
        return HttpResponseRedirect(reverse("evaluations:evaluation", args=[obj.pk]))
