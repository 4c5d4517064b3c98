"""A live page's websocket on the real stack (Daphne, Redis, channels-redis) stays open while nothing happens."""

import json
import time

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from runs.models import Status
from runs.services import run_cancel
from tests.factories import BatchFactory, MediaFileFactory, PipelineStepFactory, RunFactory, StepRunFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)
QUIET_SECONDS = 30


def session_cookie_of_a_curator() -> str:
    curator = UserFactory(username="curator")
    curator.groups.add(Group.objects.get(name="Curators"))
    client = Client()
    client.force_login(curator)  # the session is in the database, which the server reads
    return client.cookies["sessionid"].value


def test_a_quiet_socket_stays_open_and_then_gets_the_next_event(daphne):
    step = PipelineStepFactory(position=1)
    media = MediaFileFactory(guid="cpb-aacip-quiet")
    batch = BatchFactory(name="Quiet", pipeline=step.pipeline, media_files=[media])
    run = RunFactory(batch=batch, media_file=media, status=Status.QUEUED)
    StepRunFactory(run=run, position=1, app=step.app, status=Status.QUEUED)
    ws_url = daphne.url.replace("http", "ws") + f"/ws/batches/{batch.pk}/"

    with connect(
        ws_url,
        origin=daphne.url,
        additional_headers={"Cookie": f"sessionid={session_cookie_of_a_curator()}"},
        open_timeout=10,
    ) as socket:
        assert json.loads(socket.recv(timeout=10))["type"] == "snapshot"

        quiet_until = time.monotonic() + QUIET_SECONDS
        while (left := quiet_until - time.monotonic()) > 0:
            try:
                message = socket.recv(timeout=left)
            except TimeoutError:
                break
            except ConnectionClosed as closed:
                pytest.fail(f"The server closed a quiet socket after {QUIET_SECONDS - left:.1f} s: {closed}")
            pytest.fail(f"Nothing changed, yet the server sent {message[:200]}")

        run_cancel(run)
        event = json.loads(socket.recv(timeout=10))

    assert (event["type"], event["run"], event["status"]) == ("run", run.pk, "cancelled")
    log = daphne.log.read_text()
    assert "Traceback" not in log
    assert "Timeout reading" not in log
