from celery import shared_task
from django.db import close_old_connections

from sources.services import schedule_tick


@shared_task(name="sources.tick")
def tick(schedule_id: int) -> str:
    """A schedule is due (sent by beat, on the background queue): sync its source or start its new files."""
    close_old_connections()
    return schedule_tick(schedule_id)
