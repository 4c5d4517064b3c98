"""How long a step is expected to take: the median of its app's recent successful steps.

The most specific history wins: the same app version with the same parameters, else the same
version, else any version of the app. When the file's media duration is known and enough recent
steps of that group ran on files of known duration, the estimate is per second of media instead
(the median seconds of work per second of media, times the file's length). Every figure is an
estimate, and the pages say so.
"""

import json
import statistics
from dataclasses import dataclass

from runs.models import Status, StepRun

HISTORY = 50  # recent successful steps per app that an estimate is taken from
MIN_SAMPLES = 3  # fewer finished steps than this in a group: fall back to a wider group
BASES = ("this version with these parameters", "this version", "any version")
PER_MEDIA_SECOND = " per second of media"


@dataclass(frozen=True)
class Expected:
    seconds: float
    basis: str  # one of BASES, with PER_MEDIA_SECOND when scaled by the media's length
    samples: int


def _parameters_key(parameters) -> str:
    return json.dumps(parameters or {}, sort_keys=True)


def _keys(app_id, version, parameters) -> tuple[tuple, ...]:
    return ((app_id, version or "", _parameters_key(parameters)), (app_id, version or ""), (app_id,))


class Expectations:
    """The recent durations of some apps, read in one query; ``expected`` answers from them without querying."""

    def __init__(self, app_ids):
        self._durations: dict[tuple, list[float]] = {}
        self._rates: dict[tuple, list[float]] = {}  # seconds of work per second of media
        app_ids = {a for a in app_ids if a is not None}
        if not app_ids:
            return
        recent = (
            StepRun.objects.ran()
            .filter(app_id__in=app_ids, status=Status.SUCCEEDED, duration__isnull=False)
            .order_by("-finished_at")
            .values_list("app_id", "app_version", "parameters", "duration", "run__media_file__duration")[
                : HISTORY * 4 * len(app_ids)
            ]
        )
        for app_id, version, parameters, duration, media_seconds in recent:
            for key in _keys(app_id, version, parameters):
                _keep(self._durations, key, duration)
                if media_seconds:
                    _keep(self._rates, key, duration / media_seconds)

    def expected(
        self, app_id: int | None, version: str = "", parameters=None, *, media_seconds: float | None = None
    ) -> Expected | None:
        """The expected duration of a step of this app on a file of ``media_seconds`` (None: unknown length),
        or None if the app has no finished step yet."""
        for key, basis in zip(_keys(app_id, version, parameters), BASES, strict=True):
            rates = self._rates.get(key, [])
            if media_seconds and len(rates) >= MIN_SAMPLES:
                return Expected(statistics.median(rates) * media_seconds, basis + PER_MEDIA_SECOND, len(rates))
            values = self._durations.get(key, [])
            if len(values) >= MIN_SAMPLES or (len(key) == 1 and values):
                return Expected(statistics.median(values), basis, len(values))
        return None


def _keep(groups: dict[tuple, list[float]], key: tuple, value: float) -> None:
    values = groups.setdefault(key, [])
    if len(values) < HISTORY:
        values.append(value)
