"""Reusing earlier MMIF through the API: a batch from runs or from files' latest MMIF, and uploads of MMIF."""

from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework import parsers, serializers
from rest_framework.response import Response

from api.base import ID, ActionView, needs
from api.exceptions import too_large
from api.parsers import JSONParser
from api.schema import ERRORS
from api.serializers import StrictFields
from batches.models import Batch, MediaFile
from pipelines.models import Pipeline
from runs import inputs
from runs.models import Run


class InputsView(ActionView):
    parser_classes = [JSONParser]


class CreatedSerializer(serializers.Serializer):
    detail = serializers.CharField()
    batch = serializers.IntegerField(help_text="The new batch's id.")
    files = serializers.IntegerField(help_text="How many files it holds, each with its input MMIF.")


def created_response(result: inputs.InputsChosen) -> Response:
    return Response({"detail": result.sentence, "batch": result.batch.pk, "files": result.files}, status=201)


CREATED = {201: CreatedSerializer, 400: ERRORS["400"], 409: ERRORS["409"]}


class FromRunsSerializer(StrictFields, serializers.Serializer):
    name = serializers.CharField(max_length=200)
    pipeline = serializers.PrimaryKeyRelatedField(
        queryset=Pipeline.objects.all(), help_text="The apps still to run on each run's final MMIF."
    )
    runs = serializers.PrimaryKeyRelatedField(queryset=Run.objects.all(), many=True, allow_empty=False)


class BatchFromRunsView(InputsView):
    permission_classes = [needs("runs.view_run", "batches.add_batch")]

    @extend_schema(
        summary="Create a batch of the runs' files, each starting from its run's final MMIF.",
        description="The apps whose views that MMIF holds are not called again: give a pipeline of the apps still "
        "to run. 409, creating nothing, when a run did not succeed or two runs are of the same file.",
        request=FromRunsSerializer,
        responses=CREATED,
    )
    def post(self, request):
        body = FromRunsSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        runs = Run.objects.filter(pk__in=[run.pk for run in data["runs"]])
        return created_response(
            inputs.batch_from_runs(runs, name=data["name"], pipeline=data["pipeline"], created_by=request.user)
        )


class FromLatestSerializer(StrictFields, serializers.Serializer):
    name = serializers.CharField(max_length=200)
    pipeline = serializers.PrimaryKeyRelatedField(
        queryset=Pipeline.objects.all(), help_text="The apps still to run on each file's latest MMIF."
    )
    media_files = serializers.PrimaryKeyRelatedField(queryset=MediaFile.objects.all(), many=True, allow_empty=False)
    from_pipeline = serializers.PrimaryKeyRelatedField(
        queryset=Pipeline.objects.all(),
        required=False,
        allow_null=True,
        help_text="Take each file's latest successful MMIF of this pipeline (in any batch); by default of any.",
    )


class BatchFromLatestView(InputsView):
    permission_classes = [needs("runs.view_run", "batches.add_batch")]

    @extend_schema(
        summary="Create a batch of media files, each starting from its latest successful MMIF.",
        description="409, creating nothing, naming the files that have no successful MMIF (of `from_pipeline`).",
        request=FromLatestSerializer,
        responses=CREATED,
    )
    def post(self, request):
        body = FromLatestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        files = MediaFile.objects.filter(pk__in=[media.pk for media in data["media_files"]])
        return created_response(
            inputs.batch_from_latest(
                files,
                name=data["name"],
                pipeline=data["pipeline"],
                from_pipeline=data.get("from_pipeline"),
                created_by=request.user,
            )
        )


class UploadParser(parsers.MultiPartParser):
    """Multipart, up to the inputs' own limit rather than the API's general one."""

    def parse(self, stream, media_type=None, parser_context=None):
        request = (parser_context or {}).get("request")
        length = int(request.META.get("CONTENT_LENGTH") or 0) if request is not None else 0
        if length > settings.INPUT_UPLOAD_MAX_BYTES:
            raise too_large(settings.INPUT_UPLOAD_MAX_BYTES)
        return super().parse(stream, media_type, parser_context)


class UploadSerializer(StrictFields, serializers.Serializer):
    file = serializers.FileField(help_text="One <GUID>.mmif (or .json) file, or a zip of them.")


class UploadedSerializer(serializers.Serializer):
    detail = serializers.CharField()
    files = serializers.IntegerField(help_text="How many of the batch's files now start from an uploaded MMIF.")


class BatchInputsUploadView(InputsView):
    permission_classes = [needs("batches.view_batch", "batches.change_batch")]
    parser_classes = [UploadParser]

    @extend_schema(
        summary="Upload MMIF made elsewhere for the batch's files to start from.",
        description="Each MMIF is named after a GUID of the batch, checked with mmif-python, and must describe "
        "its file's own media (same location and document type); an earlier input of the file is replaced. "
        "409, storing nothing, naming the files that are wrong and why.",
        parameters=[ID],
        request={"multipart/form-data": UploadSerializer},
        responses={200: UploadedSerializer, 400: ERRORS["400"], 409: ERRORS["409"], 413: ERRORS["413"]},
    )
    def post(self, request, pk):
        batch = self.get_one(Batch, pk)
        body = UploadSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        result = inputs.batch_inputs_upload(batch, body.validated_data["file"], created_by=request.user)
        return Response({"detail": result.sentence, "files": result.files})
