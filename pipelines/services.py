"""Writing pipelines: what the admin and the API call."""

from django.db import transaction

from clams_apps.models import ClamsApp
from pipelines.models import Pipeline, PipelineStep


@transaction.atomic
def pipeline_replace_steps(pipeline: Pipeline, steps: list[tuple[ClamsApp, dict]]) -> None:
    """Make ``steps`` (app and parameters, in order) the pipeline's only steps, at positions 1, 2, ….

    The steps must have passed ``pipelines.validation.step_problems``; runs already started keep
    their own snapshot of the old steps.
    """
    pipeline.steps.all().delete()
    PipelineStep.objects.bulk_create(
        PipelineStep(pipeline=pipeline, position=position, app=app, parameters=parameters)
        for position, (app, parameters) in enumerate(steps, start=1)
    )
