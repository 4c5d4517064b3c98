from django.conf import settings
from django.contrib import admin
from django.contrib.auth.decorators import login_required, permission_required
from django.core.handlers.asgi import ASGIRequest
from django.shortcuts import get_object_or_404, render

from batches.models import Batch
from reports.batch_report import csv_response, report_columns, report_page
from reports.statistics import app_statistics, chart_svg

PAGE_SIZE = 100


def can_view_reports(view):
    """Anyone who may see runs and batches (Curators and Viewers) may see their reports."""
    needed = ("runs.view_run", "batches.view_batch")
    return login_required(permission_required(needed, raise_exception=True)(view))


def after_number(value) -> int:
    """The ``after`` a page link carries; 0 (the first page) for anything that is not a file id."""
    text = str(value or "")
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 18 else 0


@can_view_reports
def batch_report(request, pk: int):
    """The batch report in the admin: one row per file, a page at a time, with the CSV download."""
    batch = get_object_or_404(Batch.objects.select_related("pipeline"), pk=pk)
    after = after_number(request.GET.get("after"))
    rows, next_after = report_page(batch, after=after, size=PAGE_SIZE)
    return render(
        request,
        "reports/batch_report.html",
        {
            **admin.site.each_context(request),
            "title": f"Report of batch {batch.name}",
            "batch": batch,
            "columns": report_columns(batch),
            "rows": rows,
            "next_after": next_after,
            "first_page": after == 0,
            "opts": Batch._meta,
        },
    )


@can_view_reports
def batch_report_csv(request, pk: int):
    """The whole batch report as CSV, streamed."""
    batch = get_object_or_404(Batch, pk=pk)
    return csv_response(batch, asynchronous=isinstance(request, ASGIRequest))


@can_view_reports
def app_statistics_page(request):
    """Per app and version: runs, success rate, error kinds, durations, throughput, and steps per day."""
    items = app_statistics()
    return render(
        request,
        "reports/app_statistics.html",
        {
            **admin.site.each_context(request),
            "title": "App statistics",
            "chart_days": settings.REPORTS_CHART_DAYS,
            "items": [(item, chart_svg(item)) for item in items],
        },
    )
