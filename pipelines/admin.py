import json

from django.contrib import admin, messages
from django.db.models import Count, Prefetch
from django.utils.html import format_html, format_html_join

from chowda_site.admin_lists import BoundedIdsAdmin
from clams_apps.metadata import UNIVERSAL_PARAMETERS, Parameter
from pipelines.forms import PipelineStepForm, PipelineStepFormSet
from pipelines.models import Pipeline, PipelineStep
from pipelines.validation import pipeline_warnings

PLURALS = {"integer": "integers", "number": "numbers", "string": "strings", "boolean": "booleans"}


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
        if not step.app_id:
            return "Shown once the step is saved."
        metadata = step.app.app_metadata
        if metadata is None:
            return "Unknown until the app's metadata is refreshed."
        own = [p for p in metadata.parameters if p.name not in UNIVERSAL_PARAMETERS]
        if not own:
            return "Only the universal parameters (pretty, runningTime, hwFetch, tfSamplingMode)."
        return format_html(
            "<ul>{}</ul>", format_html_join("", "<li><code>{}</code>: {}</li>", ((p.name, _hint(p)) for p in own))
        )


def _hint(parameter: Parameter) -> str:
    """For example '"fast" or "accurate", default "fast"' or "list of strings, required"; values as JSON."""
    if parameter.type == "map":
        kind = 'map of "key:value"'
    elif parameter.choices:
        kind = " or ".join(json.dumps(choice) for choice in parameter.choices)
    elif parameter.multivalued:
        kind = f"list of {PLURALS[parameter.type]}"
    else:
        kind = parameter.type
    return f"{kind}, required" if parameter.required else f"{kind}, default {json.dumps(parameter.default)}"


@admin.register(Pipeline)
class PipelineAdmin(BoundedIdsAdmin):
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

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        context["type_warnings"] = pipeline_warnings(obj) if change and obj is not None else []
        return super().render_change_form(request, context, add, change, form_url, obj)

    def response_add(self, request, obj, post_url_continue=None):
        response = super().response_add(request, obj, post_url_continue)
        self._warn_when_leaving(request, obj)
        return response

    def response_change(self, request, obj):
        response = super().response_change(request, obj)
        self._warn_when_leaving(request, obj)
        return response

    def _warn_when_leaving(self, request, pipeline: Pipeline) -> None:
        # Staying on the change page shows the same warnings in a box, so only say them when leaving it.
        if "_continue" not in request.POST:
            for warning in pipeline_warnings(pipeline):
                messages.warning(request, warning)
