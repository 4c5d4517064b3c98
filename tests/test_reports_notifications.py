"""A batch that finishes, or whose failures pass its limit, emails its creator and calls its webhook, once.

Run on the real Celery worker with real CLAMS apps; the webhook receiver is a real HTTP server on loopback
and mail goes to Django's locmem backend.
"""

import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core import mail
from django.db import close_old_connections

from batches.models import Batch
from reports import notifications
from reports.tasks import notify_batch
from runs.models import Status
from runs.services import batch_cancel, batch_retry_failed, batch_start
from tests.factories import (
    BatchFactory,
    MediaFileFactory,
    PipelineFactory,
    PipelineStepFactory,
    RunFactory,
    UserFactory,
)
from tests.runner_helpers import register, wait_for, wait_until_finished

SECRET = "webhook-secret-for-tests"  # pragma: allowlist secret


class Receiver:
    """An HTTP server on loopback that records every POST and answers the status codes it is given, in turn."""

    def __init__(self, statuses=(200,)):
        self.requests: list[dict] = []
        self.statuses = list(statuses)
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append({"headers": dict(self.headers), "body": body})
                status = receiver.statuses.pop(0) if len(receiver.statuses) > 1 else receiver.statuses[0]
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()


@pytest.fixture
def receiver():
    made = []

    def make(statuses=(200,)):
        made.append(Receiver(statuses))
        return made[-1]

    yield make
    for server in made:
        server.stop()


@pytest.fixture
def notify_settings(settings):
    settings.WEBHOOK_SECRET = SECRET
    settings.WEBHOOK_BACKOFF = 0.2
    settings.WEBHOOK_ATTEMPTS = 3
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    return settings


def signed_by_secret(request) -> bool:
    expected = "sha256=" + hmac.new(SECRET.encode(), request["body"], hashlib.sha256).hexdigest()
    return hmac.compare_digest(request["headers"]["X-Chowda-Signature"], expected)


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("celery_worker", "notify_settings")
class TestOnTheWorker:
    @pytest.fixture(autouse=True)
    def media(self, settings, tmp_path, runner_apps):
        settings.MEDIA_ROOT = str(tmp_path / "media")
        for _url, behaviour in runner_apps.values():
            behaviour.reset()

    def batch(self, runner_apps, app: str, files: int, **fields) -> Batch:
        pipeline = PipelineFactory()
        PipelineStepFactory(pipeline=pipeline, position=1, app=register(runner_apps, app), parameters={})
        owner = UserFactory(username="owner", email="owner@archive.test")
        return BatchFactory(
            pipeline=pipeline, media_files=MediaFileFactory.create_batch(files), created_by=owner, **fields
        )

    def test_a_finished_batch_emails_its_creator_and_posts_a_signed_body_once(self, runner_apps, receiver):
        hook = receiver()
        batch = self.batch(runner_apps, "first", 4, webhook_url=hook.url)

        batch_start(batch)
        wait_until_finished(batch)
        wait_for(lambda: hook.requests, message="the webhook")
        wait_for(lambda: len(mail.outbox) >= 1, message="the email")

        [message] = mail.outbox
        assert message.to == ["owner@archive.test"]
        assert (
            message.subject
            == f"[Chowda] Batch '{batch.name}' finished: 4 of 4 files succeeded, 0 failed and 0 were cancelled."
        )
        assert f"/batches/{batch.pk}/live/" in message.body
        [request] = hook.requests
        assert signed_by_secret(request)
        assert request["headers"]["X-Chowda-Event"] == "batch.finished"
        body = json.loads(request["body"])
        assert body["batch"] == {"id": batch.pk, "name": batch.name}
        assert body["counts"]["succeeded"] == 4
        batch.refresh_from_db()
        assert batch.finished_notified_at is not None
        assert batch.webhook_problem == ""

    def test_failures_past_the_limit_notify_before_the_batch_finishes(self, runner_apps, receiver):
        hook = receiver()
        batch = self.batch(runner_apps, "not_json", 3, webhook_url=hook.url, notify_failures_over=1)

        batch_start(batch)
        wait_until_finished(batch)
        wait_for(lambda: len(hook.requests) >= 2, message="both webhooks")

        events = sorted(r["headers"]["X-Chowda-Event"] for r in hook.requests)
        assert events == ["batch.failures", "batch.finished"]
        wait_for(lambda: len(mail.outbox) >= 2, message="both emails")
        subjects = sorted(m.subject for m in mail.outbox)
        assert len(subjects) == 2
        # The failed count is read when the notification goes out: 2 or 3 of the 3 files.
        assert "failed files, more than the 1 it allows; look at its report" in subjects[1]
        assert subjects[0].startswith(f"[Chowda] Batch '{batch.name}' finished: 0 of 3 files succeeded, 3 failed")

    def test_a_batch_that_finishes_again_after_a_retry_notifies_again(self, runner_apps, settings):
        settings.STEP_MAX_ATTEMPTS = 1
        batch = self.batch(runner_apps, "first", 2)
        runner_apps["first"][1].fail_next = 1

        batch_start(batch)
        wait_for(lambda: len(mail.outbox) >= 1, message="the first email")
        batch_retry_failed(batch)
        wait_for(lambda: len(mail.outbox) >= 2, message="the email after the retry")

        name = batch.name
        assert [message.subject for message in mail.outbox] == [
            f"[Chowda] Batch '{name}' finished: 1 of 2 files succeeded, 1 failed and 0 were cancelled.",
            f"[Chowda] Batch '{name}' finished: 2 of 2 files succeeded, 0 failed and 0 were cancelled.",
        ]

    def test_a_failing_webhook_is_retried_with_the_same_delivery_id(self, runner_apps, receiver):
        hook = receiver(statuses=(500, 503, 200))
        batch = self.batch(runner_apps, "first", 1, webhook_url=hook.url)

        batch_start(batch)
        wait_for(lambda: len(hook.requests) == 3, timeout=30, message="three webhook attempts")
        wait_for(lambda: Batch.objects.get(pk=batch.pk).webhook_problem == "", message="the problem to clear")

        assert len({r["headers"]["X-Chowda-Delivery"] for r in hook.requests}) == 1
        assert all(signed_by_secret(r) for r in hook.requests)

    def test_a_batch_whose_last_runs_are_cancelled_notifies_that_it_finished(self, runner_apps):
        batch = self.batch(runner_apps, "first", 2)
        for media in batch.media_files.all():
            RunFactory(batch=batch, media_file=media, status=Status.PENDING)

        batch_cancel(batch)
        wait_for(lambda: len(mail.outbox) >= 1, message="the email")

        [message] = mail.outbox
        assert message.subject == (
            f"[Chowda] Batch '{batch.name}' finished: 0 of 2 files succeeded, 0 failed and 2 were cancelled."
        )

    def test_a_webhook_that_keeps_failing_says_so_on_the_batch(self, runner_apps, receiver):
        hook = receiver(statuses=(500,))
        batch = self.batch(runner_apps, "first", 1, webhook_url=hook.url)

        batch_start(batch)
        problem = wait_for(
            lambda: "3 times" in (p := Batch.objects.get(pk=batch.pk).webhook_problem) and p,
            timeout=30,
            message="the webhook to give up",
        )

        assert problem == (
            f"The webhook call failed 3 times, the last because {hook.url} answered HTTP 500; "
            "check the webhook URL and the receiver, then fix the URL on this batch."
        )
        assert len(hook.requests) == 3


@pytest.mark.django_db(transaction=True)
def test_concurrent_workers_send_a_notification_once(notify_settings):
    batch = BatchFactory(created_by=UserFactory(username="owner", email="owner@archive.test"))
    start = threading.Barrier(6)

    def worker():
        start.wait()
        try:
            notify_batch(batch.pk, "finished")
        finally:
            close_old_connections()

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(mail.outbox) == 1


@pytest.mark.django_db
def test_a_webhook_without_a_secret_is_not_sent_and_the_batch_says_why(settings):
    settings.WEBHOOK_SECRET = ""

    reason = notifications.webhook_post("http://127.0.0.1:9/", b"{}", event="batch.finished", delivery="x")

    assert reason == (
        "CHOWDA_WEBHOOK_SECRET is not set, so Chowda cannot sign the webhook's body; ask an operator to set it."
    )


@pytest.mark.django_db
def test_nothing_is_due_while_files_are_still_running():
    from tests.report_helpers import batch_with_runs

    batch = batch_with_runs(4)
    Batch.objects.filter(pk=batch.pk).update(notify_failures_over=0)

    assert notifications.due_notifications(batch.pk) == ["failures"]
    Batch.objects.filter(pk=batch.pk).update(notify_failures_over=5)
    assert notifications.due_notifications(batch.pk) == []


@pytest.mark.django_db
def test_the_api_sets_the_webhook_and_the_limit_and_shows_what_was_sent(api):
    batch = BatchFactory()

    response = api.patch(
        f"/api/batches/{batch.pk}/",
        {"webhook_url": "https://hooks.archive.test/chowda", "notify_failures_over": 10},
        format="json",
    )

    assert response.status_code == 200, response.json()
    assert response.json()["webhook_url"] == "https://hooks.archive.test/chowda"
    assert response.json()["notify_failures_over"] == 10
    assert response.json()["finished_notified_at"] is None
    assert response.json()["webhook_problem"] == ""


@pytest.mark.django_db
def test_a_curator_sets_the_notifications_on_the_batch_page(curator_client):
    batch = BatchFactory()

    response = curator_client.post(
        f"/admin/batches/batch/{batch.pk}/change/",
        {
            "name": batch.name,
            "pipeline": batch.pipeline_id,
            "notify_failures_over": "3",
            "webhook_url": "https://hooks.archive.test/x",
            "description": "",
        },
    )

    assert response.status_code == 302, response.context["adminform"].errors
    batch.refresh_from_db()
    assert (batch.notify_failures_over, batch.webhook_url) == (3, "https://hooks.archive.test/x")


@pytest.mark.django_db
def test_viewers_cannot_change_the_webhook(viewer_client):
    batch = BatchFactory()

    viewer_client.post(
        f"/admin/batches/batch/{batch.pk}/change/", {"name": batch.name, "webhook_url": "https://x.test/"}
    )

    batch.refresh_from_db()
    assert batch.webhook_url == ""


@pytest.mark.django_db
def test_the_live_batch_page_shows_why_the_webhook_failed_and_links_to_the_report(viewer_client):
    from django.urls import reverse

    batch = BatchFactory(webhook_problem="The webhook call failed 5 times, the last because x answered HTTP 500; ...")

    content = viewer_client.get(reverse("runs:batch_live", args=[batch.pk])).content.decode()

    assert 'id="webhook-problem"' in content
    assert "The webhook call failed 5 times" in content
    assert reverse("reports:batch_report_csv", args=[batch.pk]) in content
