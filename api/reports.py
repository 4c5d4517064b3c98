"""The batch report and the app statistics as JSON: the same rows as the admin's pages and the CSV."""

from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response

from api.base import ActionView, needs
from batches.models import Batch
from reports.batch_report import report_columns, report_page
from reports.statistics import app_statistics

MAX_PAGE_SIZE = 1000
DEFAULT_PAGE_SIZE = 100


def number(value, default: int, *, low: int, high: int) -> int:
    text = str(value or "")
    if not (text.isascii() and text.isdigit()) or len(text) > 18:
        return default
    return max(low, min(high, int(text)))


class ReportView(ActionView):
    # Reports are readings of runs: Curators and Viewers may see them.
    permission_classes = [needs("runs.view_run", "batches.view_batch")]


class BatchReportView(ReportView):
    @extend_schema(
        summary="The batch report: one row per file.",
        description="Each row has the file's latest run (status, attempt, times, error) and per step its status, "
        "attempts, seconds, and the annotation counts of each view it added. Paged by file id: follow `next` "
        "(it carries `after`); `page_size` is at most 1000. The same rows are the admin's report and its CSV.",
        parameters=[
            OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH, description="The batch's id."),
            OpenApiParameter("after", OpenApiTypes.INT, description="Rows of files with a higher id than this."),
            OpenApiParameter("page_size", OpenApiTypes.INT, description="Rows per page (default 100, at most 1000)."),
        ],
        responses=inline_serializer(
            "BatchReport",
            {
                "batch": serializers.IntegerField(),
                "columns": serializers.ListField(child=serializers.DictField()),
                "next": serializers.CharField(allow_null=True),
                "results": serializers.ListField(child=serializers.DictField()),
            },
        ),
    )
    def get(self, request, pk):
        batch = self.get_one(Batch, pk)
        after = number(request.query_params.get("after"), 0, low=0, high=2**63 - 1)
        size = number(request.query_params.get("page_size"), DEFAULT_PAGE_SIZE, low=1, high=MAX_PAGE_SIZE)
        rows, next_after = report_page(batch, after=after, size=size)
        next_url = None
        if next_after is not None:
            path = reverse("api:batch-report", args=[batch.pk])
            next_url = request.build_absolute_uri(f"{path}?after={next_after}&page_size={size}")
        return Response({"batch": batch.pk, "columns": report_columns(batch), "next": next_url, "results": rows})


class AppStatisticsView(ReportView):
    @extend_schema(
        summary="Statistics per app and version.",
        description="Finished steps, successes and failures, failures by kind, median and 95th percentile seconds "
        "of successful steps, steps that succeeded in the last day and week, and steps per day.",
        responses=inline_serializer("AppStatistics", {"results": serializers.ListField(child=serializers.DictField())}),
    )
    def get(self, request):
        return Response({"results": [item.as_dict() for item in app_statistics()]})
