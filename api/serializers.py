"""What the API reads and writes. Validation sentences come from the same code as the admin's."""

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from batches.models import Batch, Collection, DocumentType, MediaFile
from chowda_site.ids import MAX_ID
from clams_apps.models import ClamsApp
from clams_apps.parameters import ALL
from pipelines.models import Pipeline, PipelineStep
from pipelines.services import pipeline_replace_steps
from pipelines.validation import pipeline_warnings, step_problems
from runs.models import RUN_STATUSES, Run, Status, StepRun
from runs.services import DEFAULT_PILOT_SEED, Pilot, StartFrom

# SQLite allows 999 variables per query; stay under it when looking ids up.
LOOKUP_CHUNK = 900
# Sent by the browsable API's forms along with the fields.
FORM_EXTRAS = {"csrfmiddlewaretoken"}


class StrictFields:
    """Refuse names that are not fields, so that a typo is an error instead of being silently ignored.

    Read-only fields are accepted (and ignored), so what a GET returns can be sent back.
    """

    def to_internal_value(self, data):
        if isinstance(data, Mapping):
            unknown = sorted(set(data) - set(self.fields) - FORM_EXTRAS)
            if unknown:
                known = ", ".join(name for name, field in self.fields.items() if not field.read_only)
                message = "There is no field {!r} here; the fields you can send are {}."
                raise serializers.ValidationError({name: [message.format(name, known)] for name in unknown})
        return super().to_internal_value(data)


def does_not_exist(noun: str) -> dict:
    return {
        "does_not_exist": f"There is no {noun} with id {{pk_value}}.",
        "incorrect_type": f"Give the {noun}'s id as a whole number, not {{data_type}}.",
    }


def find_nul(value: Any) -> bool:
    """True if a NUL character is anywhere in a JSON value: PostgreSQL cannot store it."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(find_nul(key) or find_nul(item) for key, item in value.items())
    if isinstance(value, list):
        return any(find_nul(item) for item in value)
    return False


class MediaFileIdsField(serializers.ListField):
    """Media files given by id; every id must exist. Checked in a few queries, however many ids there are."""

    child = serializers.IntegerField(min_value=1, max_value=MAX_ID)

    def to_internal_value(self, data) -> list[int]:
        ids = sorted(set(super().to_internal_value(data)))
        found: set[int] = set()
        for start in range(0, len(ids), LOOKUP_CHUNK):
            chunk = ids[start : start + LOOKUP_CHUNK]
            found.update(MediaFile.objects.filter(pk__in=chunk).values_list("pk", flat=True))
        missing = [pk for pk in ids if pk not in found]
        if missing:
            shown = ", ".join(map(str, missing[:20])) + ("…" if len(missing) > 20 else "")
            raise serializers.ValidationError(f"There is no media file with the id(s) {shown}.")
        return ids


# CLAMS apps


class ParameterSerializer(serializers.Serializer):
    name = serializers.CharField()
    type = serializers.CharField()
    description = serializers.CharField()
    default = serializers.JSONField(allow_null=True)
    required = serializers.BooleanField()
    choices = serializers.ListField(child=serializers.JSONField())
    multivalued = serializers.BooleanField()


class ClamsAppSerializer(StrictFields, serializers.ModelSerializer):
    identifier = serializers.SerializerMethodField()
    version = serializers.SerializerMethodField()
    metadata_json = serializers.JSONField(
        write_only=True,
        required=False,
        help_text="An app run as a job: its metadata JSON, as its metadata.py prints it, when it has no "
        "metadata command.",
    )

    class Meta:
        model = ClamsApp
        fields = [
            "id",
            "name",
            "mode",
            "endpoint",
            "command",
            "metadata_command",
            "metadata_json",
            "image",
            "namespace",
            "service_account",
            "gpus",
            "memory",
            "node_selector",
            "tolerations",
            "description",
            "enabled",
            "max_concurrency",
            "timeout",
            "media_access",
            "media_root",
            "identifier",
            "version",
            "health",
            "health_checked_at",
            "metadata_fetched_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["health", "health_checked_at", "metadata_fetched_at", "created_at", "updated_at"]
        extra_kwargs = {
            "name": {"required": False, "allow_blank": True, "help_text": "Leave out to use the app's own name."},
            "description": {"help_text": "Leave out to use the app's own description."},
        }

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_identifier(self, app: ClamsApp) -> str | None:
        return app.app_metadata.identifier if app.app_metadata else None

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_version(self, app: ClamsApp) -> str | None:
        return (app.app_metadata.version or None) if app.app_metadata else None

    def validate_name(self, name: str) -> str:
        if not name and self.instance is not None:
            raise serializers.ValidationError("An app needs a name.")
        return name


class ClamsAppDetailSerializer(ClamsAppSerializer):
    metadata = serializers.JSONField(read_only=True, help_text="What the app answered to GET /.")
    parameters = serializers.SerializerMethodField()

    class Meta(ClamsAppSerializer.Meta):
        fields = [*ClamsAppSerializer.Meta.fields, "metadata", "parameters"]

    @extend_schema_field(ParameterSerializer(many=True))
    def get_parameters(self, app: ClamsApp) -> list[dict]:
        if app.app_metadata is None:
            return []
        return [
            {
                "name": p.name,
                "type": p.type,
                "description": p.description,
                "default": p.default,
                "required": p.required,
                "choices": list(p.choices),
                "multivalued": p.multivalued,
            }
            for p in app.app_metadata.parameters
        ]


# Pipelines


class PipelineStepSerializer(StrictFields, serializers.ModelSerializer):
    app = serializers.PrimaryKeyRelatedField(queryset=ClamsApp.objects.all(), error_messages=does_not_exist("app"))
    app_name = serializers.CharField(source="app.name", read_only=True)
    parameters = serializers.JSONField(
        required=False,
        help_text='The step\'s runtime parameters as a JSON object, for example {"threshold": 0.5}.',
    )

    class Meta:
        model = PipelineStep
        fields = ["position", "app", "app_name", "parameters"]
        read_only_fields = ["position"]

    def validate_parameters(self, parameters: Any) -> Any:
        if find_nul(parameters):
            raise serializers.ValidationError("Parameters cannot contain NUL characters (\\u0000).")
        return parameters

    def validate(self, attrs: dict) -> dict:
        """The admin's checks (``step_problems``), reported per parameter name."""
        problems = step_problems(attrs["app"], attrs.setdefault("parameters", {}))
        errors: dict[str, Any] = {}
        if problems.app:
            errors["app"] = problems.app
        if problems.parameters:
            errors["parameters"] = problems.parameters.get(ALL, problems.parameters)
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


class PipelineSerializer(StrictFields, serializers.ModelSerializer):
    steps = PipelineStepSerializer(
        many=True,
        required=False,
        help_text="The steps in order; writing them replaces all the pipeline's steps (positions 1, 2, …).",
    )

    class Meta:
        model = Pipeline
        fields = ["id", "name", "description", "steps", "created_at", "updated_at"]

    @transaction.atomic
    def create(self, validated_data: dict) -> Pipeline:
        steps = validated_data.pop("steps", [])
        pipeline = super().create(validated_data)
        pipeline_replace_steps(pipeline, [(step["app"], step["parameters"]) for step in steps])
        return pipeline

    @transaction.atomic
    def update(self, pipeline: Pipeline, validated_data: dict) -> Pipeline:
        steps = validated_data.pop("steps", None)
        pipeline = super().update(pipeline, validated_data)
        if steps is not None:
            pipeline_replace_steps(pipeline, [(step["app"], step["parameters"]) for step in steps])
        return pipeline


class PipelineDetailSerializer(PipelineSerializer):
    warnings = serializers.SerializerMethodField(
        help_text="Steps whose required inputs neither the media nor an earlier step provides."
    )

    class Meta(PipelineSerializer.Meta):
        fields = [*PipelineSerializer.Meta.fields, "warnings"]

    def get_warnings(self, pipeline: Pipeline) -> list[str]:
        return pipeline_warnings(pipeline)


# Media, collections, batches


class MediaFileSerializer(StrictFields, serializers.ModelSerializer):
    class Meta:
        model = MediaFile
        fields = ["id", "guid", "location", "mime_type", "document_type", "missing_since", "created_at"]
        extra_kwargs = {
            "document_type": {"required": False, "help_text": "Leave out to take it from the MIME type."},
        }

    def validate(self, attrs: dict) -> dict:
        current = {
            name: getattr(self.instance, name) for name in ("mime_type", "document_type") if self.instance is not None
        }
        merged = {**current, **attrs}
        if not merged.get("document_type"):
            document_type = DocumentType.for_mime(merged.get("mime_type", ""))
            if document_type is None:
                raise serializers.ValidationError(
                    {
                        "document_type": [
                            f"MIME type {merged.get('mime_type')!r} does not tell whether the file is video, audio, "
                            "image or text: give the document type."
                        ]
                    }
                )
            attrs["document_type"] = merged["document_type"] = document_type
        MediaFile(mime_type=merged["mime_type"], document_type=merged["document_type"]).clean()
        return attrs


class WritesMediaFiles:
    """Sets the ``media_files`` list of ids in the same transaction as the rest (left alone when not given)."""

    @transaction.atomic
    def create(self, validated_data: dict):
        media_files = validated_data.pop("media_files", [])
        instance = super().create(validated_data)
        instance.media_files.set(media_files)
        return instance

    @transaction.atomic
    def update(self, instance, validated_data: dict):
        media_files = validated_data.pop("media_files", None)
        instance = super().update(instance, validated_data)
        if media_files is not None:
            instance.media_files.set(media_files)
        return instance


class CollectionSerializer(WritesMediaFiles, StrictFields, serializers.ModelSerializer):
    file_count = serializers.IntegerField(read_only=True, help_text="How many media files the collection holds.")
    media_files = MediaFileIdsField(
        write_only=True,
        required=False,
        help_text="The ids of the media files the collection holds (replacing them all). "
        "Read them with GET /api/media-files/?collection=<id>.",
    )

    class Meta:
        model = Collection
        fields = ["id", "name", "description", "file_count", "media_files", "created_at"]


class RunCountsSerializer(serializers.Serializer):
    """How many of the batch's runs are in each status."""

    queued = serializers.IntegerField()
    running = serializers.IntegerField()
    succeeded = serializers.IntegerField()
    failed = serializers.IntegerField()
    cancelled = serializers.IntegerField()


class BatchSerializer(WritesMediaFiles, StrictFields, serializers.ModelSerializer):
    """Read from a queryset annotated by ``runs.selectors.with_run_counts``."""

    pipeline = serializers.PrimaryKeyRelatedField(
        queryset=Pipeline.objects.all(), allow_null=True, required=False, error_messages=does_not_exist("pipeline")
    )
    input_batch = serializers.PrimaryKeyRelatedField(
        queryset=Batch.objects.all(),
        allow_null=True,
        required=False,
        error_messages=does_not_exist("batch"),
        help_text="Start from the output MMIF of this batch instead of from the media files.",
    )
    input_pipeline = serializers.PrimaryKeyRelatedField(
        queryset=Pipeline.objects.all(),
        allow_null=True,
        required=False,
        error_messages=does_not_exist("pipeline"),
        help_text="Start each file from its latest successful MMIF of this pipeline, in any batch (not with "
        "input_batch).",
    )
    media_files = MediaFileIdsField(
        write_only=True,
        required=False,
        help_text="The ids of the media files to run (replacing them all). "
        "Read them with GET /api/media-files/?batch=<id>.",
    )
    media_count = serializers.IntegerField(read_only=True, help_text="How many media files the batch holds.")
    runs = serializers.SerializerMethodField(help_text="How many of the batch's latest runs are in each status.")
    created_by = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True, help_text="The username of who created the batch."
    )

    class Meta:
        model = Batch
        fields = [
            "id",
            "name",
            "description",
            "pipeline",
            "input_batch",
            "input_pipeline",
            "media_files",
            "media_count",
            "runs",
            "created_by",
            "created_at",
            "notify_failures_over",
            "webhook_url",
            "finished_notified_at",
            "failures_notified_at",
            "webhook_problem",
        ]
        read_only_fields = ["finished_notified_at", "failures_notified_at", "webhook_problem"]

    @extend_schema_field(RunCountsSerializer)
    def get_runs(self, batch: Batch) -> dict[str, int]:
        return {status.value: getattr(batch, f"runs_{status}") for status in RUN_STATUSES}

    def validate(self, attrs: dict) -> dict:
        if "input_batch" in attrs or "input_pipeline" in attrs:
            Batch(
                pk=getattr(self.instance, "pk", None),
                input_batch=attrs.get("input_batch", getattr(self.instance, "input_batch", None)),
                input_pipeline=attrs.get("input_pipeline", getattr(self.instance, "input_pipeline", None)),
            ).clean()
        return attrs


class ImportMediaSerializer(StrictFields, serializers.Serializer):
    guids = serializers.CharField(
        required=False,
        allow_blank=True,
        trim_whitespace=False,
        help_text="GUIDs one per line, or separated by commas, spaces or semicolons. "
        "Text whose first line is the header guid,location,mime is read as CSV.",
    )
    csv = serializers.CharField(
        required=False,
        allow_blank=True,
        trim_whitespace=False,
        help_text="CSV text: a header line naming the columns guid, location (optional) and mime (optional), "
        "then one media file per line.",
    )
    batch = serializers.PrimaryKeyRelatedField(
        queryset=Batch.objects.all(), required=False, allow_null=True, error_messages=does_not_exist("batch")
    )
    new_batch_name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    collection = serializers.PrimaryKeyRelatedField(
        queryset=Collection.objects.all(), required=False, allow_null=True, error_messages=does_not_exist("collection")
    )
    new_collection_name = serializers.CharField(max_length=200, required=False, allow_blank=True)

    def validate_new_collection_name(self, name: str) -> str:
        if name and Collection.objects.filter(name=name).exists():
            raise serializers.ValidationError(
                f"A collection named {name!r} already exists: give its id as collection instead."
            )
        return name

    def validate(self, attrs: dict) -> dict:
        attrs = {
            "guids": "",
            "csv": "",
            "batch": None,
            "new_batch_name": "",
            "collection": None,
            "new_collection_name": "",
            **attrs,
        }
        errors = {}
        if attrs["batch"] and attrs["new_batch_name"]:
            errors["new_batch_name"] = ["Give an existing batch or name a new one, not both."]
        if attrs["collection"] and attrs["new_collection_name"]:
            errors["new_collection_name"] = ["Give an existing collection or name a new one, not both."]
        if errors:
            raise serializers.ValidationError(errors)
        if bool(attrs["guids"].strip()) == bool(attrs["csv"].strip()):
            raise serializers.ValidationError("Send GUIDs in guids or CSV text in csv (one of the two).")
        return attrs


class LineErrorSerializer(serializers.Serializer):
    line = serializers.IntegerField(allow_null=True, help_text="The line number, or null for the input as a whole.")
    text = serializers.CharField(help_text="The line as it was sent.")
    reason = serializers.CharField()


class ImportResultSerializer(serializers.Serializer):
    detail = serializers.CharField()
    created = serializers.IntegerField(help_text="New media files (that would have been) created.")
    existing = serializers.IntegerField(help_text="GUIDs that were already known.")
    errors = LineErrorSerializer(many=True)
    batch = serializers.IntegerField(allow_null=True, source="batch.pk", default=None)
    collection = serializers.IntegerField(allow_null=True, source="collection.pk", default=None)


# Runs


def seconds(duration: timedelta | None) -> float | None:
    return duration.total_seconds() if duration is not None else None


@extend_schema_field({"type": "string", "enum": [s.value for s in RUN_STATUSES]}, component_name="RunStatus")
class RunStatusField(serializers.CharField):
    pass


@extend_schema_field({"type": "string", "enum": [s.value for s in Status]}, component_name="StepStatus")
class StepStatusField(serializers.CharField):
    """A run's statuses, and skipped: the step never ran because an earlier one failed or the run was cancelled."""


class StepRunSerializer(serializers.ModelSerializer):
    status = StepStatusField(read_only=True)
    error = serializers.CharField(
        source="error_message", read_only=True, help_text="What went wrong, as the app or Chowda said it."
    )
    mmif_url = serializers.SerializerMethodField(help_text="The step's output MMIF, or its error MMIF.")

    class Meta:
        model = StepRun
        fields = [
            "position",
            "app",
            "app_name",
            "parameters",
            "status",
            "attempts",
            "started_at",
            "finished_at",
            "duration",
            "http_status",
            "error",
            "stack_trace",
            "log_tail",
            "job_state",
            "summary",
            "mmif_url",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_mmif_url(self, step: StepRun) -> str | None:
        if not (step.output_mmif or step.error_mmif):
            return None
        return absolute(self.context, "api:run-step-mmif", step.run_id, step.position)


class RunSerializer(serializers.ModelSerializer):
    """Read from a queryset annotated with ``duration`` and with ``media_file`` selected."""

    guid = serializers.CharField(source="media_file.guid", read_only=True)
    status = RunStatusField(read_only=True)
    duration = serializers.SerializerMethodField(help_text="Seconds from start to finish.")
    mmif_url = serializers.SerializerMethodField(help_text="The final MMIF, once the run has succeeded.")

    class Meta:
        model = Run
        fields = [
            "id",
            "batch",
            "media_file",
            "guid",
            "status",
            "attempt",
            "retry_of",
            "superseded",
            "error",
            "created_at",
            "started_at",
            "finished_at",
            "duration",
            "mmif_url",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.FloatField(allow_null=True))
    def get_duration(self, run: Run) -> float | None:
        return seconds(run.duration)

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_mmif_url(self, run: Run) -> str | None:
        return absolute(self.context, "api:run-mmif", run.pk) if run.final_mmif else None


class RunDetailSerializer(RunSerializer):
    steps = StepRunSerializer(many=True, read_only=True)

    class Meta(RunSerializer.Meta):
        fields = [*RunSerializer.Meta.fields, "steps"]
        read_only_fields = fields


class MediaFileRunSerializer(serializers.ModelSerializer):
    """Read from ``findings.selectors.media_file_history``: batch and pipeline selected, the latest marked."""

    batch_name = serializers.CharField(source="batch.name", read_only=True)
    pipeline = serializers.IntegerField(source="batch.pipeline_id", read_only=True, allow_null=True)
    pipeline_name = serializers.CharField(source="batch.pipeline.name", read_only=True, allow_null=True, default=None)
    status = RunStatusField(read_only=True)
    latest_for_pipeline = serializers.BooleanField(
        read_only=True, help_text="The latest successful run of this pipeline for the file, with a final MMIF."
    )
    mmif_url = serializers.SerializerMethodField(help_text="The final MMIF, once the run has succeeded.")

    class Meta:
        model = Run
        fields = [
            "id",
            "batch",
            "batch_name",
            "pipeline",
            "pipeline_name",
            "attempt",
            "status",
            "superseded",
            "created_at",
            "started_at",
            "finished_at",
            "mmif_url",
            "latest_for_pipeline",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_mmif_url(self, run: Run) -> str | None:
        return absolute(self.context, "api:run-mmif", run.pk) if run.final_mmif else None


def absolute(context: dict, name: str, *args) -> str:
    path = reverse(name, args=args)
    request = context.get("request")
    return request.build_absolute_uri(path) if request is not None else path


# Batch and run actions


class StartResultSerializer(serializers.Serializer):
    detail = serializers.CharField()
    started = serializers.IntegerField(help_text="Files whose run was started now.")
    already = serializers.IntegerField(help_text="Files that were already queued, running or done.")
    without_input = serializers.ListField(
        child=serializers.CharField(), help_text="GUIDs of files that have no output in the input batch."
    )
    pilot = serializers.CharField(help_text="Which files a pilot took (empty when every file still to run started).")
    unstarted = serializers.IntegerField(help_text="Files still to run that a pilot left for a later start.")
    overridden = serializers.ListField(
        child=serializers.IntegerField(), help_text="Positions of the steps whose parameters this start overrode."
    )


class PilotSerializer(serializers.Serializer):
    """Exactly one of ``first``, ``guids`` and ``sample``."""

    first = serializers.IntegerField(required=False, min_value=1, help_text="The first N files still to run, by GUID.")
    guids = serializers.ListField(
        child=serializers.CharField(), required=False, allow_empty=False, help_text="The files with these GUIDs."
    )
    sample = serializers.IntegerField(
        required=False, min_value=1, help_text="A random sample of N of the files still to run."
    )
    seed = serializers.IntegerField(
        required=False,
        default=DEFAULT_PILOT_SEED,
        help_text="The sample's seed: from the same files still to run, the same seed draws the same sample.",
    )


class StartFromSerializer(serializers.Serializer):
    """Exactly one of ``blank``, ``pipeline`` and ``batch``."""

    blank = serializers.BooleanField(required=False, help_text="A blank MMIF of each media file.")
    pipeline = serializers.PrimaryKeyRelatedField(
        queryset=Pipeline.objects.all(), required=False, help_text="Each file's latest MMIF of this pipeline."
    )
    batch = serializers.PrimaryKeyRelatedField(
        queryset=Batch.objects.all(), required=False, help_text="The latest successful output of this batch."
    )


class StartRequestSerializer(serializers.Serializer):
    """What a start may choose; an empty body starts every file still to run with the pipeline's parameters."""

    start_from = StartFromSerializer(
        required=False, help_text="Where this start's files take their MMIF from, instead of what the batch says."
    )

    pilot = PilotSerializer(required=False, help_text="Start only some of the files still to run.")
    overrides = serializers.DictField(
        child=serializers.DictField(),
        required=False,
        help_text='Parameters to change for this start only, by step position: {"1": {"threshold": 0.2}}.',
    )

    def validate_overrides(self, value: dict) -> dict[int, dict]:
        try:
            return {int(position): values for position, values in value.items()}
        except ValueError:
            raise serializers.ValidationError(
                'Name each step by its position, a whole number, as in {"1": {"threshold": 0.2}}.'
            ) from None

    def start_choices(self) -> dict:
        """The keyword arguments of ``batch_start``."""
        pilot = self.validated_data.get("pilot")
        if pilot:
            pilot = Pilot(
                first=pilot.get("first"),
                guids=tuple(pilot.get("guids", ())),
                sample=pilot.get("sample"),
                seed=pilot["seed"],
            )
        source = self.validated_data.get("start_from")
        start_from = None
        if source:
            start_from = StartFrom(
                blank=bool(source.get("blank")), pipeline=source.get("pipeline"), batch=source.get("batch")
            )
        return {
            "pilot": pilot or None,
            "overrides": self.validated_data.get("overrides") or None,
            "start_from": start_from,
        }


class CountResultSerializer(serializers.Serializer):
    detail = serializers.CharField()
    count = serializers.IntegerField(help_text="How many runs were cancelled or retried.")


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField(help_text="What went wrong and what to do about it.")
