import time

from clams_apps.services import app_register
from runs.models import ACTIVE_STATUSES, Run


def wait_for(condition, timeout: float = 30.0, message: str = "condition"):
    """Poll until ``condition()`` is truthy; return its value, or fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"Timed out after {timeout}s waiting for {message}")


def wait_until_finished(batch, timeout: float = 30.0):
    """Wait until no run of the batch is queued or running; return its latest runs."""
    wait_for(
        lambda: not Run.objects.current().filter(batch=batch, status__in=ACTIVE_STATUSES).exists(),
        timeout,
        f"batch {batch.name} to finish",
    )
    return list(Run.objects.current().filter(batch=batch).select_related("media_file").order_by("pk"))


def register(runner_apps, name: str, **fields):
    url, _behaviour = runner_apps[name]
    return app_register(url, name=name, **fields)
