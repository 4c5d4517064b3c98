import json
import logging
import uuid

from celery import shared_task
from django.conf import settings

from batches.models import Batch
from reports import notifications

logger = logging.getLogger(__name__)


def run_finished_handler(sender=None, *, batch_id: int, run_id: int | None = None, **kwargs) -> None:
    """Handler of ``runs.signals.run_finished``: queue the batch's notifications that are due.

    Never raises: a run must not fail because its batch could not notify.
    """
    try:
        for kind in notifications.due_notifications(batch_id):
            notify_batch.delay(batch_id, kind)
    except Exception:
        logger.exception("Could not check or queue the notifications of batch %s", batch_id)


@shared_task(name="reports.notify_batch")
def notify_batch(batch_id: int, kind: str) -> None:
    """Send one notification of the batch (email, then the webhook's first attempt), once only."""
    if not notifications.batch_claim_notification(batch_id, kind):
        return  # another worker sent it
    batch = Batch.objects.select_related("created_by").filter(pk=batch_id).first()
    if batch is None:
        return
    body = notifications.notification_body(batch, kind)
    try:
        notifications.send_email(batch, body)
    except Exception:  # a mail server that is down must not stop the webhook
        logger.exception("Could not email the notification of batch %s", batch_id)
    if batch.webhook_url:
        # The same delivery id and body on every attempt, so a receiver can tell a repeat.
        payload = json.dumps(body, sort_keys=True)
        deliver_webhook.delay(batch_id, batch.webhook_url, payload, body["event"], uuid.uuid4().hex)


@shared_task(name="reports.deliver_webhook")
def deliver_webhook(batch_id: int, url: str, payload: str, event: str, delivery: str, attempt: int = 1) -> None:
    """One attempt to POST the body; on failure, the next attempt is queued with a doubled delay."""
    reason = notifications.webhook_post(url, payload.encode(), event=event, delivery=delivery)
    if not reason:
        notifications.batch_record_webhook(batch_id, "")
        return
    retry_in = None
    if attempt < settings.WEBHOOK_ATTEMPTS:
        retry_in = settings.WEBHOOK_BACKOFF * 2 ** (attempt - 1)
        deliver_webhook.apply_async((batch_id, url, payload, event, delivery, attempt + 1), countdown=retry_in)
    logger.warning("Webhook of batch %s: %s", batch_id, reason)
    notifications.batch_record_webhook(batch_id, notifications.webhook_problem(url, reason, attempt, retry_in))
