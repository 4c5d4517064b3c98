"""Per app and version: how many steps ran, how many succeeded (and of those, how many found nothing), why the
others failed, how long they took.

A step that succeeded but found nothing (``"found_nothing"`` in its summary, runs/mmif_check.py) is no success
of the app's; a step whose media file could not be fetched (``StepRun.staging_failed``) never reached the app, so
it is counted apart and not against it. An app that could not tell its version (clams-python's "unresolvable")
counts under the unknown version, "".

Four queries whatever the number of apps or steps: counts, error kinds, durations (only the most
recent ``DURATION_SAMPLE`` per app version), and steps per day for the chart.
"""

import math
import statistics
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db.models import Case, CharField, Count, F, Max, Q, Value, When
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from clams_apps.metadata import UNRESOLVED_VERSION
from runs.models import Status, StepRun

DURATION_SAMPLE = 2000  # recent successful steps per app version that the median and 95th percentile use

# What kind of error a step's message is: the sentences runs/app_call.py and runs/execution.py write.
ERROR_KINDS = [
    ("timed out", ["did not answer within"]),
    ("unreachable", ["cannot be reached", "did not accept a connection", "answered HTTP 429", "answered HTTP 50"]),
    ("refused the input", ["refused the input MMIF"]),
    ("answer was not MMIF", ["not JSON", "not valid MMIF", "JSON that is not MMIF", "without adding a view"]),
    ("app raised an error", [" failed: "]),
    ("not called", ["was not called", "was disabled", "was deleted"]),
    ("Chowda's own error", ["Chowda could not run this step"]),
]
OTHER = "other"


def error_kind_expression():
    whens = [
        When(Q.create([("error_message__contains", text) for text in texts], connector=Q.OR), then=Value(kind))
        for kind, texts in ERROR_KINDS
    ]
    return Case(*whens, default=Value(OTHER), output_field=CharField())


# The steps the app was sent (a step whose media file could not be fetched never reached it).
APP_CALLED = Q(staging_failed=False)
FOUND_NOTHING = Q(status=Status.SUCCEEDED, summary__found_nothing=True)
APP_FAILED = Q(status=Status.FAILED, staging_failed=False)


def version_expression():
    """The step's app version, "" for one the app could not tell."""
    return Case(
        When(app_version=UNRESOLVED_VERSION, then=Value("")), default=F("app_version"), output_field=CharField()
    )


@dataclass
class AppVersionStatistics:
    app_id: int | None
    app: str
    version: str  # "" when unknown
    runs: int = 0  # the steps the app was sent: succeeded and failed
    succeeded: int = 0
    found_nothing: int = 0  # of the succeeded, those whose app added no annotation though it had its input
    failed: int = 0
    media_not_fetched: int = 0  # failed before the app was called, counted apart from ``runs``
    last_day: int = 0
    last_week: int = 0
    error_kinds: dict[str, int] = field(default_factory=dict)
    median: float | None = None
    p95: float | None = None
    # (date, succeeded, found nothing, failed) for each of the last CHART_DAYS days, oldest first
    days: list[tuple[str, int, int, int]] = field(default_factory=list)

    @property
    def found_something(self) -> int:
        return self.succeeded - self.found_nothing

    @property
    def success_rate(self) -> float | None:
        """The share of the app's steps that succeeded and found something."""
        return self.found_something / self.runs if self.runs else None

    def as_dict(self) -> dict:
        return {
            "app_id": self.app_id,
            "app": self.app,
            "version": self.version,
            "runs": self.runs,
            "succeeded": self.succeeded,
            "found_nothing": self.found_nothing,
            "failed": self.failed,
            "media_not_fetched": self.media_not_fetched,
            "success_rate": self.success_rate,
            "error_kinds": self.error_kinds,
            "median_seconds": self.median,
            "p95_seconds": self.p95,
            "throughput_last_day": self.last_day,
            "throughput_last_week": self.last_week,
            "days": [{"date": d, "succeeded": s, "found_nothing": n, "failed": f} for d, s, n, f in self.days],
        }


def percentile(values: list[float], fraction: float) -> float | None:
    """The nearest-rank percentile of sorted ``values`` (None for none)."""
    if not values:
        return None
    return values[max(0, math.ceil(fraction * len(values)) - 1)]


def app_statistics(now=None) -> list[AppVersionStatistics]:
    """Every app version that has finished a step, busiest first.

    ``runs`` counts the finished steps the app was sent (succeeded or failed); throughput counts the steps
    that succeeded in the last day and week.
    """
    now = now or timezone.now()
    day, week = now - timedelta(days=1), now - timedelta(days=7)
    chart_start = (now - timedelta(days=settings.REPORTS_CHART_DAYS - 1)).date()
    finished = (
        StepRun.objects.ran()
        .filter(status__in=[Status.SUCCEEDED, Status.FAILED])
        .order_by()
        .annotate(version=version_expression())
    )
    by_key: dict[tuple, AppVersionStatistics] = {}
    for row in finished.values("app_id", "version").annotate(
        name=Max("app_name"),
        runs=Count("pk", filter=APP_CALLED),
        succeeded=Count("pk", filter=Q(status=Status.SUCCEEDED)),
        found_nothing=Count("pk", filter=FOUND_NOTHING),
        failed=Count("pk", filter=APP_FAILED),
        media_not_fetched=Count("pk", filter=~APP_CALLED),
        last_day=Count("pk", filter=Q(status=Status.SUCCEEDED, finished_at__gte=day)),
        last_week=Count("pk", filter=Q(status=Status.SUCCEEDED, finished_at__gte=week)),
    ):
        key = (row["app_id"], row["version"])
        by_key[key] = AppVersionStatistics(
            app_id=row["app_id"],
            app=row["name"],
            version=row["version"],
            runs=row["runs"],
            succeeded=row["succeeded"],
            found_nothing=row["found_nothing"],
            failed=row["failed"],
            media_not_fetched=row["media_not_fetched"],
            last_day=row["last_day"],
            last_week=row["last_week"],
        )
    if not by_key:
        return []
    kinds = (
        finished.filter(APP_FAILED)
        .annotate(kind=error_kind_expression())
        .values_list("app_id", "version", "kind")
        .annotate(n=Count("*"))
    )
    for app_id, version, kind, n in kinds:
        by_key[(app_id, version)].error_kinds[kind] = n
    durations: dict[tuple, list[float]] = {}
    recent = (
        StepRun.objects.ran()
        .filter(status=Status.SUCCEEDED, duration__isnull=False)
        .order_by("-finished_at")
        .annotate(version=version_expression())
        .values_list("app_id", "version", "duration")[: DURATION_SAMPLE * len(by_key)]
    )
    for app_id, version, duration in recent:
        values = durations.setdefault((app_id, version), [])
        if len(values) < DURATION_SAMPLE:
            values.append(duration)
    for key, values in durations.items():
        if key in by_key:
            values.sort()
            by_key[key].median = statistics.median(values)
            by_key[key].p95 = percentile(values, 0.95)
    per_day: dict[tuple, dict] = {}
    for app_id, version, date, succeeded, found_nothing, failed in (
        finished.filter(finished_at__date__gte=chart_start)
        .annotate(date=TruncDate("finished_at"))
        .values_list("app_id", "version", "date")
        .annotate(
            succeeded=Count("pk", filter=Q(status=Status.SUCCEEDED)),
            found_nothing=Count("pk", filter=FOUND_NOTHING),
            failed=Count("pk", filter=APP_FAILED),
        )
    ):
        per_day.setdefault((app_id, version), {})[date] = (succeeded, found_nothing, failed)
    dates = [chart_start + timedelta(days=n) for n in range(settings.REPORTS_CHART_DAYS)]
    for key, item in by_key.items():
        days = per_day.get(key, {})
        item.days = [(d.isoformat(), *days.get(d, (0, 0, 0))) for d in dates]
    return sorted(by_key.values(), key=lambda s: (-s.runs, s.app, s.version))


CHART_WIDTH, CHART_HEIGHT = 280, 60


CHART_COLOURS = ("#2e7d32", "#f9a825", "#c62828")  # found something, found nothing, failed


def chart_svg(item: AppVersionStatistics) -> str:
    """Steps per day as stacked bars (succeeded and found something green, under found nothing amber, under
    failed red), as inline SVG: nothing is downloaded."""
    tallest = max((s + f for _d, s, _n, f in item.days), default=0) or 1
    width = CHART_WIDTH / max(1, len(item.days))
    bars = []
    for i, (date, succeeded, found_nothing, failed) in enumerate(item.days):
        title = f"{date}: {succeeded} succeeded ({found_nothing} of them found nothing), {failed} failed"
        top = CHART_HEIGHT
        for count, colour in zip((succeeded - found_nothing, found_nothing, failed), CHART_COLOURS, strict=True):
            height = CHART_HEIGHT * count / tallest
            top -= height
            # Numbers are written out first: format_html escapes its arguments into strings.
            bars.append((f"{i * width:.1f}", f"{top:.1f}", f"{width - 1:.1f}", f"{height:.1f}", colour, title))
    rects = format_html_join("", '<rect x="{}" y="{}" width="{}" height="{}" fill="{}"><title>{}</title></rect>', bars)
    return format_html(
        '<svg class="app-chart" role="img" width="{}" height="{}" viewBox="0 0 {} {}" '
        'aria-label="{} {}: steps per day, succeeded, found nothing and failed">{}</svg>',
        CHART_WIDTH,
        CHART_HEIGHT,
        CHART_WIDTH,
        CHART_HEIGHT,
        item.app,
        item.version or "version unknown",
        rects,
    )
