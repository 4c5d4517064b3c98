"""How long a step is expected to take: the median of its app's recent successful steps.

The most specific history wins: the same app version with the same parameters, else the same
version, else any version of the app. Every figure is an estimate, and the pages say so.
"""

import json
import statistics
from dataclasses import dataclass

from runs.models import Status, StepRun

HISTORY = 50  # recent successful steps per app that an estimate is taken from
MIN_SAMPLES = 3  # fewer finished steps than this with a version and parameters: fall back to a wider group
BASES = ("this version with these parameters", "this version", "any version")


@dataclass(frozen=True)
class Expected:
    seconds: float
    basis: str  # one of BASES: what the median was taken over
    samples: int


def _parameters_key(parameters) -> str:
    return json.dumps(parameters or {}, sort_keys=True)


class Expectations:
    """The recent durations of some apps, read in one query; ``expected`` answers from them without querying."""

    def __init__(self, app_ids):
        self._groups: dict[tuple, list[float]] = {}
        app_ids = {a for a in app_ids if a is not None}
        if not app_ids:
            return
        recent = (
            StepRun.objects.filter(app_id__in=app_ids, status=Status.SUCCEEDED, duration__isnull=False)
            .order_by("-finished_at")
            .values_list("app_id", "app_version", "parameters", "duration")[: HISTORY * 4 * len(app_ids)]
        )
        for app_id, version, parameters, duration in recent:
            for key in ((app_id, version, _parameters_key(parameters)), (app_id, version), (app_id,)):
                values = self._groups.setdefault(key, [])
                if len(values) < HISTORY:
                    values.append(duration)

    def expected(self, app_id: int | None, version: str = "", parameters=None) -> Expected | None:
        """The expected duration of a step of this app, or None if the app has no finished step yet."""
        keys = ((app_id, version or "", _parameters_key(parameters)), (app_id, version or ""), (app_id,))
        for key, basis in zip(keys, BASES, strict=True):
            values = self._groups.get(key, [])
            if len(values) >= MIN_SAMPLES or (key == (app_id,) and values):
                return Expected(statistics.median(values), basis, len(values))
        return None
