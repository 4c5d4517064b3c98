from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.db.models import Count, Prefetch
from django.utils.html import format_html, format_html_join

from clams_apps.metadata import UNIVERSAL_PARAMETERS, Parameter
from pipelines.forms import PipelineStepForm, PipelineStepFormSet
from pipelines.models import Pipeline, PipelineStep
from pipelines.validation import pipeline_warnings


class PipelineStepInline(admin.TabularInline):
    model = PipelineStep
    form = PipelineStepForm
    formset = PipelineStepFormSet
    fields = ["position", "app", "parameters", "accepted_parameters"]
    readonly_fields = ["accepted_parameters"]
    autocomplete_fields = ["app"]
    extra = 1

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("app")

    @admin.display(description="Accepted parameters")
    def accepted_parameters(self, step: PipelineStep) -> str:
        metadata = step.app.app_metadata if step.app_id else None
        if metadata is None:
            return "Save the step with an app that has metadata to see its parameters."
        own = [p for p in metadata.parameters if p.name not in UNIVERSAL_PARAMETERS]
        if not own:
            return "Only the universal parameters (pretty, runningTime, hwFetch, tfSamplingMode)."
        return format_html(
            "<ul>{}</ul>", format_html_join("", "<li><code>{}</code>: {}</li>", ((p.name, _hint(p)) for p in own))
        )


def _hint(parameter: Parameter) -> str:
    """For example "'fast' or 'accurate', default 'fast'" or "list of strings, required"."""
    if parameter.type == "map":
        kind = 'map of "key:value"'
    elif parameter.choices:
        kind = " or ".join(repr(choice) for choice in parameter.choices)
    else:
        kind = parameter.type
    if parameter.multivalued and parameter.type != "map":
        kind = f"list of {kind}"
    return f"{kind}, required" if parameter.required else f"{kind}, default {parameter.default!r}"


@admin.register(Pipeline)
class PipelineAdmin(admin.ModelAdmin):
    list_display = ["name", "apps_in_order", "step_count", "updated_at"]
    search_fields = ["name", "steps__app__name"]
    inlines = [PipelineStepInline]

    def get_queryset(self, request):
        steps = PipelineStep.objects.select_related("app").order_by("position")
        return (
            super()
            .get_queryset(request)
            .annotate(step_count=Count("steps"))
            .prefetch_related(Prefetch("steps", queryset=steps))
        )

    @admin.display(description="Apps in order")
    def apps_in_order(self, pipeline: Pipeline) -> str:
        return " → ".join(step.app.name for step in pipeline.steps.all()) or "No steps yet"

    @admin.display(description="Steps", ordering="step_count")
    def step_count(self, pipeline: Pipeline) -> int:
        return pipeline.step_count

    def change_view(self, request, object_id, form_url="", extra_context=None):
        pipeline = self.get_object(request, unquote(object_id))
        warnings = pipeline_warnings(pipeline) if pipeline is not None else []
        return super().change_view(request, object_id, form_url, {**(extra_context or {}), "type_warnings": warnings})

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        # Staying on the change page shows the same warnings in a box, so only say them when leaving it.
        if "_continue" not in request.POST:
            for warning in pipeline_warnings(form.instance):
                messages.warning(request, warning)
