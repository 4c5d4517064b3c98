"""Deliverables in the API: download them, mark a run's or a batch's MMIF final, deliver a batch, list deliveries."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers
from rest_framework.authentication import SessionAuthentication, TokenAuthentication
from rest_framework.exceptions import NotFound
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response

from api.base import ID, ActionView, needs
from api.exceptions import Conflict
from api.filters import DeliveryFilter
from api.schema import ERRORS, ChowdaAutoSchema
from api.serializers import StrictFields
from batches.models import Batch
from deliverables.destinations import DestinationError, destination_names, open_destination
from deliverables.downloads import batch_deliverable_zip, deliverable_response
from deliverables.formats import KINDS
from deliverables.models import Delivery
from deliverables.services import batch_deliver, batch_mark_final, runs_mark_final
from runs.models import Run


class MarkedSerializer(serializers.Serializer):
    detail = serializers.CharField()
    count = serializers.IntegerField(help_text="Files whose final MMIF is now this run's.")
    replaced = serializers.IntegerField(help_text="Of those, files whose earlier final MMIF was replaced.")


def marked_response(result) -> Response:
    if not result:
        raise Conflict(result.sentence)
    return Response({"detail": result.sentence, "count": result.count, "replaced": result.replaced})


MARKED = {200: MarkedSerializer, 409: ERRORS["409"]}


class RunMarkFinalView(ActionView):
    permission_classes = [needs("runs.view_run", "deliverables.add_finalmmif")]

    @extend_schema(
        summary="Mark the run's MMIF as its file's final MMIF of the run's pipeline.",
        description="Replaces the file's earlier final MMIF of that pipeline. 409 when the run has not succeeded "
        "or its batch has no pipeline.",
        parameters=[ID],
        request=None,
        responses=MARKED,
    )
    def post(self, request, pk):
        run = self.get_one(Run, pk)
        return marked_response(runs_mark_final(Run.objects.filter(pk=run.pk), request.user))


class BatchMarkFinalView(ActionView):
    permission_classes = [needs("batches.view_batch", "deliverables.add_finalmmif")]

    @extend_schema(
        summary="Mark each file's latest successful run of the batch as final.",
        description="For the batch's pipeline; replaces earlier finals. 409 when the batch has no pipeline or no "
        "file has succeeded.",
        parameters=[ID],
        request=None,
        responses=MARKED,
    )
    def post(self, request, pk):
        batch = self.get_one(Batch, pk)
        return marked_response(batch_mark_final(batch, request.user))


class DeliverSerializer(StrictFields, serializers.Serializer):
    destination = serializers.CharField(help_text="The name of a destination the operator configured.")
    kinds = serializers.ListField(
        child=serializers.ChoiceField(choices=list(KINDS)),
        required=False,
        default=list,
        help_text="Deliverables sent beside each file's final MMIF: " + ", ".join(KINDS) + ".",
    )

    def validate_destination(self, value: str) -> str:
        if value not in destination_names():
            try:
                open_destination(value)  # says why not, and what to do
            except DestinationError as exc:
                raise serializers.ValidationError(str(exc)) from None
        return value


class DeliverySerializer(serializers.ModelSerializer):
    delivered_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    failures = serializers.ListField(child=serializers.DictField(child=serializers.CharField()), read_only=True)

    class Meta:
        model = Delivery
        fields = [
            "id",
            "batch",
            "destination",
            "target",
            "kinds",
            "delivered_by",
            "delivered_at",
            "finished_at",
            "files_delivered",
            "failures",
        ]
        read_only_fields = fields


class DeliveredSerializer(serializers.Serializer):
    detail = serializers.CharField()
    delivery = DeliverySerializer()


class BatchDeliverView(ActionView):
    permission_classes = [needs("batches.view_batch", "deliverables.add_delivery")]

    @extend_schema(
        summary="Copy the final MMIF and chosen deliverables of the batch's files to a configured destination.",
        description="Records the delivery and answers 202 at once; a worker then writes `batch-<id>/<guid>.mmif`, "
        "`batch-<id>/<guid>.<kind>` and `batch-<id>/manifest.json`, replacing an earlier delivery's files. The "
        "delivery's `finished_at` is set when it is done; a file without a final MMIF is listed under `failures` "
        "(see `GET /api/deliveries/`). 409 when the batch has no pipeline or the destination cannot be written.",
        parameters=[ID],
        request=DeliverSerializer,
        responses={202: DeliveredSerializer, 409: ERRORS["409"]},
    )
    def post(self, request, pk):
        batch = self.get_one(Batch, pk)
        serializer = DeliverSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        result = batch_deliver(batch, data["destination"], data["kinds"], request.user)
        body = {"detail": result.sentence, "delivery": DeliverySerializer(result.delivery).data}
        return Response(body, status=202)


class DeliveryList(generics.ListAPIView):
    """Every delivery, newest first; ``?batch=<id>`` keeps one batch's."""

    authentication_classes = [TokenAuthentication, SessionAuthentication]
    permission_classes = [needs("deliverables.view_delivery")]
    serializer_class = DeliverySerializer
    filterset_class = DeliveryFilter
    schema = ChowdaAutoSchema()

    def get_queryset(self):
        return Delivery.objects.select_related("delivered_by")

    @extend_schema(
        summary="List deliveries, newest first: who delivered which batch where, how many files, what failed."
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class DownloadRenderer(BaseRenderer):
    """Accepts whatever a download client asks for; errors are still answered as JSON."""

    media_type = "*/*"
    format = "download"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        response = (renderer_context or {}).get("response")
        if response is not None:
            response["Content-Type"] = "application/json"
        return JSONRenderer().render(data)


KIND = OpenApiParameter(
    "kind", OpenApiTypes.STR, OpenApiParameter.PATH, enum=list(KINDS), description="Which deliverable."
)


class DownloadView(ActionView):
    permission_classes = [needs("runs.view_run", "batches.view_batch")]
    renderer_classes = [JSONRenderer, DownloadRenderer]

    def known_kind(self, kind: str) -> str:
        if kind not in KINDS:
            raise NotFound(f"There is no deliverable called {kind!r}: ask for one of {', '.join(KINDS)}.")
        return kind


class RunDeliverableView(DownloadView):
    @extend_schema(
        summary="One deliverable of the run's final MMIF, as <guid>.<ext>.",
        description="`vtt` and `srt` captions, the plain `transcript`, or the `timeframes` CSV. 404 when the run "
        "has not succeeded; 409 when its MMIF cannot give the deliverable (the reason is in `detail`).",
        parameters=[ID, KIND],
        responses={
            **{(200, content_type.split(";")[0]): OpenApiTypes.STR for _ext, content_type in KINDS.values()},
            409: ERRORS["409"],
        },
    )
    def get(self, request, pk, kind):
        self.known_kind(kind)
        run = self.get_one(Run, pk)
        if not run.final_mmif:
            raise NotFound("This run has no final MMIF yet: deliverables are written from it once the run succeeds.")
        return deliverable_response(run, kind)


class BatchDeliverableView(DownloadView):
    @extend_schema(
        summary="A zip of one deliverable for every file of the batch whose latest run succeeded.",
        description="One `<guid>.<ext>` per file, streamed as it is written; a file whose MMIF cannot give the "
        "deliverable gets `<guid>.problem.txt` saying why.",
        operation_id="batches_deliverable_zip",
        parameters=[ID, KIND],
        responses={(200, "application/zip"): OpenApiTypes.BINARY},
    )
    def get(self, request, pk, kind):
        self.known_kind(kind)
        return batch_deliverable_zip(self.get_one(Batch, pk), kind)
