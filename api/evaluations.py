"""Gold sets and evaluations in the API: the services the admin calls, with the admin's permissions."""

from django.db.models import Count
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_view
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from api.base import ID
from api.inputs import UploadParser
from api.serializers import StrictFields
from api.views import ApiViewSet
from batches.models import Batch
from evaluations.models import Evaluation, EvaluationFile, GoldKind, GoldSet, Metric
from evaluations.selectors import evaluations_listed, files_worst_first
from evaluations.services import evaluation_start, gold_files_add, gold_set_create


class GoldSetSerializer(serializers.ModelSerializer):
    files = serializers.IntegerField(read_only=True, source="file_count", help_text="How many files have gold.")

    class Meta:
        model = GoldSet
        fields = ["id", "name", "kind", "description", "files", "created_by", "created_at"]
        read_only_fields = fields


class GoldSetCreateSerializer(StrictFields, serializers.Serializer):
    name = serializers.CharField(max_length=200)
    kind = serializers.ChoiceField(choices=GoldKind.choices)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    file = serializers.FileField(help_text="One gold file named <GUID>.<ext>, or a zip of them.")


class GoldFilesSerializer(StrictFields, serializers.Serializer):
    file = serializers.FileField(help_text="One gold file named <GUID>.<ext>, or a zip of them.")


class GoldAddedSerializer(serializers.Serializer):
    detail = serializers.CharField()
    files = serializers.IntegerField(help_text="How many gold files the upload stored.")
    gold_set = GoldSetSerializer()


@extend_schema_view(
    list=extend_schema(summary="List the gold sets."),
    retrieve=extend_schema(summary="A gold set: its kind and how many files have gold."),
)
class GoldSetViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    queryset = GoldSet.objects.annotate(file_count=Count("files")).order_by("name")
    serializer_class = GoldSetSerializer
    parser_classes = [UploadParser]
    action_permissions = {"files": ["evaluations.change_goldset"]}

    def _added(self, added, code):
        gold_set = self.get_queryset().get(pk=added.gold_set.pk)
        body = {"detail": added.sentence, "files": added.files, "gold_set": GoldSetSerializer(gold_set).data}
        return Response(body, status=code)

    @extend_schema(
        summary="Make a gold set from an upload (multipart): one <GUID>.<ext> file, or a zip of them.",
        description="Formats as in clamsproject/aapb-annotations: timeframes `start,end,scene-label`, timepoints "
        "`at,scene-label`, transcript plain text, ocr `start,end,text-transcript` or `at,text-transcript`, ner "
        "BRAT `.ann`. All or nothing: 409, storing nothing, naming each wrong file and line (an unknown GUID, a "
        "bad time, a missing column, a file that is not UTF-8).",
        request={"multipart/form-data": GoldSetCreateSerializer},
        responses={201: GoldAddedSerializer},
    )
    def create(self, request):
        body = GoldSetCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        added = gold_set_create(
            name=data["name"],
            kind=data["kind"],
            description=data["description"],
            upload=data["file"],
            created_by=request.user,
        )
        return self._added(added, status.HTTP_201_CREATED)

    @extend_schema(
        summary="Add gold files to a gold set (multipart), each replacing its file's earlier gold.",
        parameters=[ID],
        request={"multipart/form-data": GoldFilesSerializer},
        responses={200: GoldAddedSerializer},
    )
    @action(detail=True, methods=["post"], pagination_class=None)
    def files(self, request, pk=None):
        gold_set = self.get_object()
        body = GoldFilesSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        return self._added(gold_files_add(gold_set, body.validated_data["file"]), status.HTTP_200_OK)


class EvaluationSerializer(serializers.ModelSerializer):
    score = serializers.SerializerMethodField(help_text="The aggregate's headline number (error rate or F1).")

    class Meta:
        model = Evaluation
        fields = [
            "id",
            "batch",
            "gold_set",
            "step",
            "app_name",
            "metric",
            "parameters",
            "label_map",
            "status",
            "sentence",
            "files_done",
            "files_total",
            "score",
            "started_by",
            "created_at",
            "finished_at",
        ]
        read_only_fields = fields

    def get_score(self, evaluation) -> float | None:
        return evaluation.aggregate.get("score")


class EvaluationFileSerializer(serializers.ModelSerializer):
    guid = serializers.CharField(source="media_file.guid")

    class Meta:
        model = EvaluationFile
        fields = ["guid", "media_file", "run", "outcome", "score", "counts", "per_label", "sentence"]
        read_only_fields = fields


class EvaluationDetailSerializer(EvaluationSerializer):
    per_file = serializers.SerializerMethodField(help_text="Every file of the batch, scored ones worst first.")

    class Meta(EvaluationSerializer.Meta):
        fields = [*EvaluationSerializer.Meta.fields, "aggregate", "per_label", "per_file"]
        read_only_fields = fields

    @extend_schema_field(EvaluationFileSerializer(many=True))
    def get_per_file(self, evaluation) -> list[dict]:
        return EvaluationFileSerializer(files_worst_first(evaluation), many=True).data


class EvaluationCreateSerializer(StrictFields, serializers.Serializer):
    batch = serializers.PrimaryKeyRelatedField(queryset=Batch.objects.select_related("pipeline"))
    gold_set = serializers.PrimaryKeyRelatedField(queryset=GoldSet.objects.all())
    step = serializers.CharField(
        required=False, allow_null=True, help_text="A step's position or its app's name; absent for the last step."
    )
    metric = serializers.ChoiceField(choices=Metric.choices)
    parameters = serializers.JSONField(required=False, default=dict)
    label_map = serializers.JSONField(required=False, default=dict, help_text='As {"speech": "S"}.')


@extend_schema_view(
    list=extend_schema(summary="List the evaluations, newest first."),
    retrieve=extend_schema(summary="An evaluation: its status, aggregate, per-label table and per-file scores."),
)
class EvaluationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    queryset = evaluations_listed().order_by("-pk")
    serializer_class = EvaluationSerializer
    detail_serializer_class = EvaluationDetailSerializer

    @extend_schema(
        summary="Score a batch's step against a gold set, in the background.",
        description="Answers 201 at once with the evaluation as `pending`; `GET /api/evaluations/{id}/` follows it. "
        "409 when the metric does not fit the gold set's kind, the step is not one of the batch's pipeline, or "
        "a parameter is unknown or out of range; nothing is created then.",
        request=EvaluationCreateSerializer,
        responses={201: EvaluationDetailSerializer},
    )
    def create(self, request):
        body = EvaluationCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        evaluation = evaluation_start(
            batch=data["batch"],
            gold_set=data["gold_set"],
            metric=data["metric"],
            step=data.get("step"),
            parameters=data["parameters"],
            label_map=data["label_map"],
            started_by=request.user,
        )
        evaluation = self.get_queryset().get(pk=evaluation.pk)
        return Response(EvaluationDetailSerializer(evaluation).data, status=status.HTTP_201_CREATED)
