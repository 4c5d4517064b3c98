"""A batch tells its creator, and optionally a webhook, when it finishes or its failures pass a limit.

Trigger: ``runs.signals.run_finished``, sent after commit whenever a run succeeds or fails, and
handled in reports/tasks.py. The check is two or three small queries; only when a notification
is due is a task queued. The task claims
the notification with one conditional UPDATE (``finished_notified_at`` or ``failures_notified_at``
still empty), so however many workers see the moment, one sends it.

The webhook gets a JSON body signed with HMAC-SHA256 under ``CHOWDA_WEBHOOK_SECRET``
(header ``X-Chowda-Signature: sha256=<hex>``), tried ``CHOWDA_WEBHOOK_ATTEMPTS`` times with
exponential backoff; why the last attempt failed is kept on the batch (``webhook_problem``).
"""

import hashlib
import hmac
import logging
from typing import Literal

import requests
from django.conf import settings
from django.core.mail import send_mail
from django.urls import reverse
from django.utils import timezone

from batches.models import Batch
from clams_apps.url_policy import UrlRefused, check_app_url
from runs.models import ACTIVE_STATUSES, Run, Status
from runs.selectors import batch_counts

logger = logging.getLogger(__name__)

Kind = Literal["finished", "failures"]
CLAIM_FIELD = {"finished": "finished_notified_at", "failures": "failures_notified_at"}
EVENT = {"finished": "batch.finished", "failures": "batch.failures"}


def due_notifications(batch_id: int) -> list[Kind]:
    """The notifications the batch has earned and not yet sent."""
    batch = (
        Batch.objects.filter(pk=batch_id)
        .values("notify_failures_over", "finished_notified_at", "failures_notified_at")
        .first()
    )
    if batch is None:
        return []
    wants_failures = batch["notify_failures_over"] is not None and batch["failures_notified_at"] is None
    if batch["finished_notified_at"] is not None and not wants_failures:
        return []
    # Called after every run that ends: while files are still active and no failure limit is set, one
    # indexed EXISTS answers, rather than counting a batch of 100,000 runs each time.
    still_active = Run.objects.current().filter(batch_id=batch_id, status__in=ACTIVE_STATUSES).exists()
    if still_active and not wants_failures:
        return []
    counts = batch_counts(batch_id)
    due: list[Kind] = []
    if wants_failures and counts[Status.FAILED] > batch["notify_failures_over"]:
        due.append("failures")
    if batch["finished_notified_at"] is None and not any(counts[s] for s in ACTIVE_STATUSES):
        files = Batch.media_files.through.objects.filter(batch_id=batch_id).count()
        if sum(counts.values()) >= files:
            due.append("finished")
    return due


def batch_claim_notification(batch_id: int, kind: Kind) -> bool:
    """Mark the notification sent; True only for the one caller that changed it from unsent."""
    field = CLAIM_FIELD[kind]
    return bool(Batch.objects.filter(pk=batch_id, **{f"{field}__isnull": True}).update(**{field: timezone.now()}))


def notification_body(batch: Batch, kind: Kind) -> dict:
    counts = batch_counts(batch.pk)
    files = batch.media_files.count()
    if kind == "finished":
        sentence = (
            f"Batch '{batch.name}' finished: {counts[Status.SUCCEEDED]} of {files} files succeeded, "
            f"{counts[Status.FAILED]} failed and {counts[Status.CANCELLED]} were cancelled."
        )
    else:
        sentence = (
            f"Batch '{batch.name}' has {counts[Status.FAILED]} failed files, more than the "
            f"{batch.notify_failures_over} it allows; look at its report and retry or fix the apps."
        )
    return {
        "event": EVENT[kind],
        "batch": {"id": batch.pk, "name": batch.name},
        "message": sentence,
        "total_files": files,
        "counts": counts,
        "live_url": reverse("runs:batch_live", args=[batch.pk]),
        "report_url": reverse("reports:batch_report", args=[batch.pk]),
        "sent_at": timezone.now().isoformat(),
    }


def send_email(batch: Batch, body: dict) -> bool:
    """Email the person who created the batch; False if there is nobody to write to."""
    user = batch.created_by
    if user is None or not user.email:
        return False
    send_mail(
        subject=f"[Chowda] {body['message'][:150]}",
        message=(
            f"{body['message']}\n\n"
            f"Watch it: {settings.SITE_URL}{body['live_url']}\n"
            f"Its report: {settings.SITE_URL}{body['report_url']}\n"
        ),
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=[user.email],
    )
    return True


def signature(payload: bytes, secret: str) -> str:
    """The value of ``X-Chowda-Signature`` for this body: ``sha256=`` and the HMAC-SHA256 in hex."""
    return "sha256=" + hmac.new(secret.encode(), payload, hashlib.sha256).hexdigest()


def webhook_post(url: str, payload: bytes, *, event: str, delivery: str) -> str:
    """POST the signed body once; returns "" on a 2xx answer, else the sentence saying what went wrong."""
    secret = settings.WEBHOOK_SECRET
    if not secret:
        return "CHOWDA_WEBHOOK_SECRET is not set, so Chowda cannot sign the webhook's body; ask an operator to set it."
    try:
        check_app_url(url)
    except UrlRefused as exc:
        return f"Chowda may not call {url}: {exc}"
    headers = {
        "Content-Type": "application/json",
        "X-Chowda-Event": event,
        "X-Chowda-Delivery": delivery,
        "X-Chowda-Signature": signature(payload, secret),
    }
    try:
        # Not followed: a redirect would take the signed body past the URL check above, to any address.
        response = requests.post(
            url, data=payload, headers=headers, timeout=settings.WEBHOOK_TIMEOUT, allow_redirects=False
        )
    except requests.RequestException as exc:
        return f"{url} could not be reached ({exc.__class__.__name__})"
    if 200 <= response.status_code < 300:
        return ""
    if response.is_redirect:
        return (
            f"{url} answered HTTP {response.status_code}, redirecting to "
            f"{response.headers.get('Location', 'nowhere')}, and Chowda does not follow a webhook's redirects "
            "(set the webhook URL to the address it redirects to)"
        )
    return f"{url} answered HTTP {response.status_code}"


def webhook_problem(url: str, reason: str, attempt: int, retry_in: float | None) -> str:
    attempts = settings.WEBHOOK_ATTEMPTS
    if retry_in is not None:
        return (
            f"The webhook call failed ({reason}, attempt {attempt} of {attempts}); "
            f"Chowda tries again in {retry_in:g} s."
        )
    return (
        f"The webhook call failed {attempt} times, the last because {reason}; "
        "check the webhook URL and the receiver, then fix the URL on this batch."
    )


def batch_record_webhook(batch_id: int, problem: str) -> None:
    Batch.objects.filter(pk=batch_id).update(webhook_problem=problem)
