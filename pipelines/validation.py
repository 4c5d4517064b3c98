"""Can a step run its app with these parameters (errors), and does every step get the input types it needs, in
a MMIF version it reads (warnings, not errors: metadata can lag)?"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import mmif

from clams_apps.metadata import MMIF_DOCUMENT_TYPES, mmif_release, short_type_name
from clams_apps.models import ClamsApp
from clams_apps.parameters import validate_parameters
from pipelines.models import Pipeline, PipelineStep


@dataclass
class StepProblems:
    """Why a step cannot be saved: sentences about its app, and about its parameters by name."""

    app: list[str] = field(default_factory=list)
    parameters: dict[str, list[str]] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.app or self.parameters)


def step_problems(app: ClamsApp, parameters) -> StepProblems:
    """The checks every door makes before it saves a pipeline step: an enabled app, with metadata,
    and parameters that the app accepts (``clams_apps.parameters.validate_parameters``)."""
    problems = StepProblems()
    if not app.enabled:
        problems.app.append(f"App '{app.name}' is disabled; enable it or choose another app.")
    if app.app_metadata is None:
        problems.app.append(
            f"Chowda has no metadata for app '{app.name}', so it cannot check the parameters; "
            "refresh the app's metadata first."
        )
    else:
        problems.parameters = validate_parameters(app.app_metadata, parameters)
    return problems


def type_check(steps: Iterable[PipelineStep], available_types: set[str]) -> list[str]:
    """Warnings, as sentences, for steps whose required inputs nothing before them provides.

    ``steps`` are taken in the order given (pass them ordered by position, with ``app`` loaded);
    ``available_types`` holds the short names of the media's document types, such as ``{"VideoDocument"}``.
    Types are compared by short name, ignoring vocabulary versions. A step whose app has no metadata is
    reported, and the steps after it are not checked for inputs it might provide.
    """
    provided = set(available_types)
    unknown_outputs = False
    warnings = []
    for step in steps:
        metadata = step.app.app_metadata
        if metadata is None:
            warnings.append(
                f"Step {step.position} ({step.app.name}) has no app metadata, so Chowda cannot check what it "
                "needs or provides; refresh the app's metadata."
            )
            unknown_outputs = True
            continue
        if not unknown_outputs:
            for alternatives in metadata.inputs:
                if not any(io.required for io in alternatives):
                    continue
                names = [io.short_name for io in alternatives]
                if not provided.intersection(names):
                    warnings.append(
                        f"Step {step.position} ({step.app.name}) needs {' or '.join(names)}, which neither "
                        "the media nor an earlier step provides."
                    )
        provided.update(io.short_name for io in metadata.outputs)
    return warnings


def version_check(steps: Sequence[PipelineStep], source_version: str = mmif.__specver__) -> list[str]:
    """Warnings, as sentences, for steps whose app was built for an older MMIF release than the one it is sent.

    A step is sent what the step before it writes (the first step, Chowda's source MMIF, of ``source_version``).
    An app passes on the version it was given, or writes its own when that is newer. Releases are compared by
    major and minor version, as clams-python does: a patch release reads the same MMIF. An app whose metadata
    (or whose ``mmif_version``) Chowda cannot read is not checked, and taken to pass on what it is sent.
    """
    sent, sent_by = source_version, "Chowda sends it"
    warnings = []
    for step in steps:
        metadata = step.app.app_metadata
        built_for = mmif_release(metadata.mmif_version) if metadata else None
        release = mmif_release(sent)
        if built_for is not None and release is not None and built_for < release:
            warnings.append(
                f"Step {step.position} ({step.app.name}) is built for MMIF {metadata.mmif_version}, but {sent_by} "
                f"MMIF {sent}: the app may not read it, and may answer an empty view without saying why. Use a "
                f"release of the app built for MMIF {release[0]}.{release[1]} or later."
            )
        if built_for is not None and (release is None or built_for > release):
            sent = metadata.mmif_version
        sent_by = f"step {step.position} ({step.app.name}) writes"
    return warnings


def pipeline_warnings(pipeline: Pipeline) -> list[str]:
    """The type-check and MMIF version warnings for a saved pipeline, against the media of the batches that use it.

    While no batch using the pipeline has media files, every document type counts as available, so only
    problems between steps are reported. Runs two queries (media document types, steps with their apps).
    """
    # Through the pipeline's reverse relation: pipelines/ sits below batches/ and does not import it.
    document_types = set(
        pipeline.batches.order_by().values_list("media_files__document_type", flat=True).distinct()
    ) - {None}
    if not document_types:
        document_types = set(MMIF_DOCUMENT_TYPES)
    available = {short_type_name(str(MMIF_DOCUMENT_TYPES[document_type])) for document_type in document_types}
    steps = list(pipeline.steps.select_related("app").order_by("position"))
    return type_check(steps, available) + version_check(steps)
