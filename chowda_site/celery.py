"""The Celery app. Workers: `celery -A chowda_site worker --pool threads --concurrency 16`."""

import os

from celery import Celery
from celery.signals import worker_init

from chowda_site import kombu_redis_reconnect  # noqa: F401  (patches kombu: see the module)
from chowda_site.startup import DEVELOPMENT_KEY_REFUSED, refuse_unknown_redis, using_development_key

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chowda_site.settings")

app = Celery("chowda")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_init.connect
def refuse_to_start(**kwargs):
    # Celery logs and ignores exceptions from signal handlers; SystemExit stops the worker.
    if using_development_key():
        raise SystemExit(DEVELOPMENT_KEY_REFUSED)
    refuse_unknown_redis("A Celery worker", SystemExit)
