import logging

from celery import shared_task
from django.db import close_old_connections

from background.jobs import job_run

logger = logging.getLogger(__name__)


@shared_task(name="background.run_job")
def run_job(job_id: int, token: int) -> None:
    """One background job, sent by background/dispatcher.py on the background queue; then send what waits."""
    close_old_connections()
    job_run(job_id, token)
