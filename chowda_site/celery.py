"""The Celery app. Workers: `celery -A chowda_site worker --pool threads --concurrency 16`."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chowda_site.settings")

app = Celery("chowda")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
