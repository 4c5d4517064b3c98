from celery import shared_task

from deliverables.models import Delivery
from deliverables.services import DELIVER_TASK, delivery_carry_out


@shared_task(name=DELIVER_TASK)
def deliver(delivery_id: int) -> None:
    """Carry out a recorded delivery; one whose batch was deleted meanwhile is gone with it."""
    delivery = Delivery.objects.select_related("batch").filter(pk=delivery_id).first()
    if delivery is not None:
        delivery_carry_out(delivery)
