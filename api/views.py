"""The API's viewsets: each parses its input, calls the service the admin calls, and renders the answer."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Count, DurationField, ExpressionWrapper, F, Prefetch
from django.http import Http404, JsonResponse
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, viewsets
from rest_framework.authentication import SessionAuthentication, TokenAuthentication
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.fields import get_error_detail
from rest_framework.filters import OrderingFilter
from rest_framework.pagination import PageNumberPagination
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response

from api import serializers
from api.exceptions import Conflict
from api.filters import BatchFilter, MediaFileFilter, RunFilter
from api.parsers import FormParser, JSONParser, MultiPartParser
from api.permissions import ModelPermissions
from api.schema import ERRORS, ChowdaAutoSchema
from batches.importer import parse_rows
from batches.models import Batch, Collection, MediaFile
from batches.services import media_import
from clams_apps.client import AppError
from clams_apps.models import ClamsApp, Mode
from clams_apps.services import (
    app_apply_metadata,
    app_metadata_for_change,
    app_refresh_metadata,
    app_register,
    app_register_job,
    runner_change_refused,
)
from findings.selectors import media_file_history
from pipelines.models import Pipeline, PipelineStep
from runs.downloads import batch_zip_response, mmif_response
from runs.models import Run, StepRun
from runs.selectors import with_run_counts
from runs.services import RunsChanged, batch_cancel, batch_retry_failed, batch_start, run_cancel

RUN_BATCH = ["batches.run_batch"]


def no_such_endpoint(request, *args, **kwargs):
    return JsonResponse(
        {"detail": f"There is no API endpoint at {request.path}; the list of endpoints is at /api/docs/."},
        status=404,
    )


class Pagination(PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 500


class ZipRenderer(BaseRenderer):
    """Lets a client ask for ``application/zip``; errors are still answered as JSON."""

    media_type = "application/zip"
    format = "zip"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        response = (renderer_context or {}).get("response")
        if response is not None:
            response["Content-Type"] = "application/json"
        return JSONRenderer().render(data)


class ApiViewSet(viewsets.GenericViewSet):
    """Token first, so that an anonymous request is answered 401 with a ``WWW-Authenticate: Token`` challenge."""

    authentication_classes = [TokenAuthentication, SessionAuthentication]
    permission_classes = [ModelPermissions]
    parser_classes = [JSONParser, FormParser, MultiPartParser]
    pagination_class = Pagination
    schema = ChowdaAutoSchema()
    # Permissions an action needs instead of those of its HTTP method (see ModelPermissions).
    action_permissions: dict[str, list[str]] = {}
    # The serializer of everything but the list, when it shows more than the list does.
    detail_serializer_class = None

    def get_object(self):
        try:
            return super().get_object()
        except Http404:
            noun = self.get_queryset().model._meta.verbose_name
            raise NotFound(f"There is no {noun} with id {self.kwargs.get(self.lookup_field, '')}.") from None

    def get_serializer_class(self):
        if self.detail_serializer_class is not None and self.action != "list":
            return self.detail_serializer_class
        return super().get_serializer_class()


class CrudViewSet(
    mixins.ListModelMixin,
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    ApiViewSet,
):
    def perform_create(self, serializer):
        serializer.save()
        self.reload(serializer)

    def perform_update(self, serializer):
        serializer.save()
        self.reload(serializer)

    def reload(self, serializer) -> None:
        """Read the saved object back through ``get_queryset``, so that its counts are in the answer."""
        serializer.instance = self.get_queryset().get(pk=serializer.instance.pk)


def endpoint_error(exc: AppError, mode: str = Mode.SERVICE) -> ValidationError:
    """The app's metadata could not be read: said under the field it was read from."""
    if mode == Mode.SERVICE:
        return ValidationError({"endpoint": [str(exc)]})
    return ValidationError({"metadata_command": [str(exc)]})


def check_runner_change(request, app: ClamsApp | None, changes: dict) -> None:
    refused = runner_change_refused(request.user, app, changes)
    if refused:
        raise PermissionDenied(refused)


@extend_schema_view(
    list=extend_schema(summary="List the registered CLAMS apps."),
    create=extend_schema(
        summary="Register a CLAMS app: a web service by its URL, or an app run as a job.",
        description="A web service (`mode` service, the default): Chowda fetches the app's metadata first; an app "
        "it cannot reach, or that does not answer CLAMS app metadata, is refused (400, with the reason under "
        "`endpoint`). An app run as a job (`mode` command with its `command`, or kubernetes with its `image`): "
        "its metadata comes from `metadata_command` or `metadata_json` (400 under `metadata_command` when it "
        "cannot be read); setting a command or an image needs the permission clams_apps.set_app_runner (403). "
        "The name and description default to the app's own.",
    ),
    retrieve=extend_schema(summary="An app, with its metadata and parameters."),
    update=extend_schema(
        summary="Change an app.", description="A new endpoint is checked by fetching its metadata, as on creation."
    ),
    partial_update=extend_schema(
        summary="Change some of an app's fields.",
        description="A new endpoint is checked by fetching its metadata, as on creation.",
    ),
    destroy=extend_schema(
        summary="Delete an app.", description="An app that a pipeline step uses cannot be deleted (409)."
    ),
)
class ClamsAppViewSet(CrudViewSet):
    queryset = ClamsApp.objects.all()
    serializer_class = serializers.ClamsAppSerializer
    detail_serializer_class = serializers.ClamsAppDetailSerializer
    action_permissions = {"refresh": ["clams_apps.change_clamsapp"]}

    def perform_create(self, serializer):
        fields = dict(serializer.validated_data)
        check_runner_change(self.request, None, fields)
        mode = fields.pop("mode", Mode.SERVICE)
        try:
            if mode == Mode.SERVICE:
                if not fields.get("endpoint"):
                    raise ValidationError({"endpoint": ["Give the URL of the app's web service."]})
                fields.pop("metadata_json", None)
                serializer.instance = app_register(fields.pop("endpoint"), **fields)
            else:
                fields.pop("endpoint", None)
                serializer.instance = app_register_job(mode, **fields)
        except AppError as exc:
            raise endpoint_error(exc, mode) from None
        except DjangoValidationError as exc:
            raise ValidationError(get_error_detail(exc)) from None

    def perform_update(self, serializer):
        app, changes = serializer.instance, dict(serializer.validated_data)
        check_runner_change(self.request, app, changes)
        mode = changes.get("mode", app.mode)
        metadata_json = changes.pop("metadata_json", None)
        try:
            metadata = app_metadata_for_change(
                app,
                endpoint=changes.get("endpoint", app.endpoint),
                enabled=changes.get("enabled", app.enabled),
                mode=mode,
                metadata_command=changes.get("metadata_command", app.metadata_command),
                metadata_json=metadata_json,
            )
        except AppError as exc:
            raise endpoint_error(exc, mode) from None
        if metadata is not None:
            app_apply_metadata(app, metadata)
        for name, value in changes.items():
            setattr(app, name, value)
        try:
            app.full_clean()
        except DjangoValidationError as exc:
            raise ValidationError(get_error_detail(exc)) from None
        app.save()

    @extend_schema(
        summary="Fetch the app's metadata again.",
        description="If the app cannot give it, the app is marked unreachable and the answer is 409.",
        request=None,
        responses={200: serializers.ClamsAppDetailSerializer, 409: ERRORS["409"]},
    )
    @action(detail=True, methods=["post"])
    def refresh(self, request, pk=None):
        app = self.get_object()
        try:
            app_refresh_metadata(app)
        except AppError as exc:
            raise Conflict(f"{exc} The app is marked unreachable.") from None
        return Response(self.get_serializer(app).data)


@extend_schema_view(
    list=extend_schema(summary="List the pipelines with their steps."),
    create=extend_schema(
        summary="Create a pipeline with its steps.",
        description="Each step's parameters are checked against its app's metadata; problems are reported "
        "per step and per parameter (`steps[i].parameters.<name>`).",
    ),
    retrieve=extend_schema(summary="A pipeline, with its steps and the type-check warnings."),
    update=extend_schema(summary="Change a pipeline; the steps sent replace all its steps."),
    partial_update=extend_schema(
        summary="Change some of a pipeline's fields.",
        description="Sending `steps` replaces all the pipeline's steps; leaving it out keeps them.",
    ),
    destroy=extend_schema(summary="Delete a pipeline; its batches keep their runs and lose their pipeline."),
)
class PipelineViewSet(CrudViewSet):
    queryset = Pipeline.objects.prefetch_related(
        Prefetch("steps", queryset=PipelineStep.objects.select_related("app").order_by("position"))
    )
    serializer_class = serializers.PipelineSerializer
    detail_serializer_class = serializers.PipelineDetailSerializer


@extend_schema_view(
    list=extend_schema(summary="List media files."),
    create=extend_schema(summary="Create one media file."),
    retrieve=extend_schema(summary="A media file."),
    update=extend_schema(summary="Change a media file."),
    partial_update=extend_schema(summary="Change some of a media file's fields."),
    destroy=extend_schema(summary="Delete a media file.", description="A file that has runs cannot be deleted (409)."),
)
class MediaFileViewSet(CrudViewSet):
    queryset = MediaFile.objects.all()
    serializer_class = serializers.MediaFileSerializer
    filterset_class = MediaFileFilter
    action_permissions = {
        "import_media": ["batches.add_mediafile"],
        "runs": ["batches.view_mediafile", "runs.view_run"],
    }

    @extend_schema(
        summary="Import media files from a GUID list or CSV text, all or nothing.",
        description="GUIDs already known are counted as existing and left unchanged. If any line is invalid, "
        "nothing is imported and the answer (400) lists every invalid line under `errors`. Adding the files to "
        "a batch or collection needs the permission to change it (or to add one, for a new name).",
        request=serializers.ImportMediaSerializer,
        responses={
            200: serializers.ImportResultSerializer,
            400: OpenApiResponse(
                OpenApiTypes.OBJECT,
                description="Some lines are invalid (`detail`, the counts, and `errors`: one object per invalid "
                "line), or a field is (a list of sentences per field).",
            ),
        },
    )
    @action(detail=False, methods=["post"], url_path="import", filterset_class=None, pagination_class=None)
    def import_media(self, request):
        serializer = serializers.ImportMediaSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        result = media_import(
            parse_rows(data["csv"] or data["guids"], as_csv=bool(data["csv"])),
            batch=data["batch"],
            new_batch_name=data["new_batch_name"] or None,
            collection=data["collection"],
            new_collection_name=data["new_collection_name"] or None,
            user=request.user,
        )
        body = {"detail": result.sentence, **vars(result)}
        return Response(serializers.ImportResultSerializer(body).data, status=400 if result.errors else 200)

    @extend_schema(
        summary="Every run of the media file across batches, newest first.",
        description="`latest_for_pipeline` marks, per pipeline, the latest successful run with a final MMIF.",
        responses=serializers.MediaFileRunSerializer(many=True),
    )
    @action(detail=True, methods=["get"], filterset_class=None, pagination_class=None)
    def runs(self, request, pk=None):
        history = media_file_history(self.get_object())
        return Response(serializers.MediaFileRunSerializer(history, many=True, context={"request": request}).data)


@extend_schema_view(
    list=extend_schema(summary="List collections, with how many files each holds."),
    create=extend_schema(summary="Create a collection."),
    retrieve=extend_schema(summary="A collection."),
    update=extend_schema(summary="Change a collection."),
    partial_update=extend_schema(summary="Change some of a collection's fields."),
    destroy=extend_schema(summary="Delete a collection (its media files stay)."),
)
class CollectionViewSet(CrudViewSet):
    queryset = Collection.objects.annotate(file_count=Count("media_files")).order_by("name")
    serializer_class = serializers.CollectionSerializer


COUNT_RESPONSES = {200: serializers.CountResultSerializer, 409: ERRORS["409"]}


@extend_schema_view(
    list=extend_schema(summary="List batches, with how many runs are in each status."),
    create=extend_schema(summary="Create a batch."),
    retrieve=extend_schema(summary="A batch, with how many runs are in each status."),
    update=extend_schema(summary="Change a batch."),
    partial_update=extend_schema(summary="Change some of a batch's fields."),
    destroy=extend_schema(summary="Delete a batch and its runs."),
)
class BatchViewSet(CrudViewSet):
    queryset = with_run_counts(Batch.objects.select_related("created_by"))
    serializer_class = serializers.BatchSerializer
    filterset_class = BatchFilter
    action_permissions = {
        "start": RUN_BATCH,
        "cancel": RUN_BATCH,
        "retry_failed": RUN_BATCH,
        "mmif_zip": ["batches.view_batch", "runs.view_run"],
    }

    def get_queryset(self):
        if self.action in ("start", "cancel", "retry_failed", "mmif_zip"):  # these need no counts
            return Batch.objects.all()
        return super().get_queryset()

    def perform_create(self, serializer):
        serializer.save(created_by=self.request.user)
        self.reload(serializer)

    @extend_schema(
        summary="Start a run for every file that has none queued, running or succeeded, or for a pilot of them.",
        description="Files whose last run failed or was cancelled start again from the first step. "
        "With `pilot`, only the files it chooses among those start (the first N by GUID, listed GUIDs, or a "
        "seeded random sample); the others wait for a later start. `overrides` changes step parameters for "
        "this start only, checked against the app's metadata as the pipeline's are. "
        "400 for a malformed body; 409 when nothing can start: the batch has no pipeline, a step cannot run, "
        "an override or a pilot GUID is wrong, or every file is already queued, running or done.",
        request=serializers.StartRequestSerializer,
        responses={200: serializers.StartResultSerializer, 400: ERRORS["400"], 409: ERRORS["409"]},
    )
    @action(detail=True, methods=["post"])
    def start(self, request, pk=None):
        batch = self.get_object()
        choices = serializers.StartRequestSerializer(data=request.data)
        choices.is_valid(raise_exception=True)
        result = batch_start(batch, **choices.start_choices())
        if not result:
            raise Conflict(result.sentence)
        body = {"detail": result.sentence, **vars(result)}
        return Response(serializers.StartResultSerializer(body).data)

    @extend_schema(
        summary="Cancel every queued or running run of the batch.",
        description="Queued steps never start; a step already talking to its app may finish, but the run "
        "ends cancelled. 409 when no run is queued or running.",
        request=None,
        responses=COUNT_RESPONSES,
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        return changed_response(batch_cancel(self.get_object()))

    @extend_schema(
        summary="Retry every failed or cancelled run of the batch.",
        description="Each resumes at the step that did not succeed, reusing the output of the steps that did. "
        "409 when no run failed or was cancelled.",
        request=None,
        responses=COUNT_RESPONSES,
    )
    @action(detail=True, methods=["post"], url_path="retry-failed")
    def retry_failed(self, request, pk=None):
        return changed_response(batch_retry_failed(self.get_object()))

    @extend_schema(
        summary="A zip of the final MMIF of every file whose latest run succeeded, one <guid>.mmif each.",
        operation_id="batches_mmif_zip",
        responses={(200, "application/zip"): OpenApiTypes.BINARY},
    )
    def mmif_zip(self, request, pk=None):
        return batch_zip_response(self.get_object())


def changed_response(result: RunsChanged) -> Response:
    """200 with what a cancel or retry changed, or 409 with why it changed nothing."""
    if not result:
        raise Conflict(result.sentence)
    return Response({"detail": result.sentence, "count": result.count})


MMIF_RESPONSE = {(200, "application/json"): OpenApiResponse(OpenApiTypes.OBJECT, description="A MMIF document.")}


@extend_schema_view(
    list=extend_schema(summary="List runs.", description="Order them with `ordering`, for example `-duration`."),
    retrieve=extend_schema(summary="A run, with its steps."),
)
class RunViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    queryset = Run.objects.select_related("media_file").annotate(
        duration=ExpressionWrapper(F("finished_at") - F("started_at"), output_field=DurationField())
    )
    serializer_class = serializers.RunSerializer
    detail_serializer_class = serializers.RunDetailSerializer
    filter_backends = [DjangoFilterBackend, OrderingFilter]
    filterset_class = RunFilter
    ordering_fields = ["started_at", "finished_at", "duration", "created_at"]
    action_permissions = {"cancel": RUN_BATCH}

    def get_queryset(self):
        queryset = super().get_queryset()
        if self.action == "retrieve":
            queryset = queryset.prefetch_related("steps")
        return queryset

    @extend_schema(summary="The run's final MMIF, as <guid>.mmif.", responses=MMIF_RESPONSE)
    @action(detail=True, methods=["get"])
    def mmif(self, request, pk=None):
        run = self.get_object()
        if not run.final_mmif:
            raise NotFound("This run has no final MMIF: it has not succeeded.")
        return mmif_response(run.final_mmif.name, f"{run.media_file.guid}.mmif")

    @extend_schema(
        summary="A step's output MMIF, or the error MMIF its app answered with.",
        parameters=[OpenApiParameter("position", int, OpenApiParameter.PATH, description="The step's position.")],
        responses=MMIF_RESPONSE,
    )
    @action(detail=True, methods=["get"], url_path=r"steps/(?P<position>[0-9]+)/mmif")
    def step_mmif(self, request, pk=None, position=None):
        run = self.get_object()
        step = StepRun.objects.filter(run=run, position=position).first()
        if step is None:
            raise NotFound(f"This run has no step {position}.")
        stored, kind = (step.output_mmif, "output") if step.output_mmif else (step.error_mmif, "error")
        if not stored:
            raise NotFound(f"Step {position} has no output or error MMIF: it is {step.get_status_display().lower()}.")
        return mmif_response(stored.name, f"{run.media_file.guid}.step-{position}.{kind}.mmif")

    @extend_schema(
        summary="Cancel the run if it is queued or running.",
        description="409 when it has finished already.",
        request=None,
        responses=COUNT_RESPONSES,
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        return changed_response(run_cancel(self.get_object()))
