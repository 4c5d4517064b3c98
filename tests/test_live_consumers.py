"""The live pages' websockets: who may connect, snapshot first, then events as steps change."""

import asyncio

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import AnonymousUser
from django.test import Client

from chowda_site.asgi import application
from runs import services, transitions
from runs.models import Status
from tests.factories import (
    BatchFactory,
    MediaFileFactory,
    PipelineStepFactory,
    RunFactory,
    StepRunFactory,
    UserFactory,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio, pytest.mark.usefixtures("redis_url")]


@pytest.fixture(autouse=True)
def channel_layer_of_this_loop():
    """A fresh channel layer for each test: channels-redis binds its receive lock and connections to the
    event loop that first uses them, and each test runs in an event loop of its own."""
    from channels.layers import channel_layers

    channel_layers.backends.clear()


@pytest.fixture
def batch(db):
    step = PipelineStepFactory(position=1)
    media = MediaFileFactory(guid="cpb-aacip-live")
    batch = BatchFactory(name="Live", pipeline=step.pipeline, media_files=[media])
    run = RunFactory(batch=batch, media_file=media)
    StepRunFactory(run=run, position=1, app=step.app)
    return batch


async def connect(path, user):
    from channels.routing import URLRouter

    from runs.routing import websocket_urlpatterns

    communicator = WebsocketCommunicator(URLRouter(websocket_urlpatterns), path)
    communicator.scope["user"] = user
    connected, code = await communicator.connect()
    return communicator, connected, code


async def refused(path, user) -> tuple[bool, int]:
    """Connect, then let the refused consumer end (rather than leave it to be cancelled as the loop closes)."""
    communicator, connected, code = await connect(path, user)
    await communicator.disconnect()
    return connected, code


async def test_anonymous_users_are_refused(batch):
    connected, code = await refused(f"/ws/batches/{batch.pk}/", AnonymousUser())

    assert (connected, code) == (False, 4403)


async def test_users_without_view_permission_are_refused(batch):
    stranger = await sync_to_async(UserFactory)(username="stranger")

    connected, code = await refused(f"/ws/batches/{batch.pk}/", stranger)

    assert (connected, code) == (False, 4403)


async def test_a_viewer_gets_a_snapshot_first(batch, viewer):
    communicator, connected, _ = await connect(f"/ws/batches/{batch.pk}/", viewer)

    assert connected
    snapshot = await communicator.receive_json_from(timeout=5)
    assert snapshot["type"] == "snapshot"
    assert snapshot["batch_counts"]["queued"] == 1
    assert snapshot["rows"][0]["guid"] == "cpb-aacip-live"
    assert snapshot["rows"][0]["steps"]["1"]["status"] == "queued"
    await communicator.disconnect()


async def test_an_unknown_batch_is_refused(viewer):
    connected, code = await refused("/ws/batches/999999/", viewer)

    assert (connected, code) == (False, 4403)


async def test_an_event_arrives_when_a_step_changes_status(batch, viewer):
    communicator, _, _ = await connect(f"/ws/batches/{batch.pk}/", viewer)
    snapshot = await communicator.receive_json_from(timeout=5)
    run_watcher, _, _ = await connect(f"/ws/runs/{snapshot['rows'][0]['run']['id']}/", viewer)
    await run_watcher.receive_json_from(timeout=5)

    step = await sync_to_async(lambda: batch.runs.get().steps.get())()
    await sync_to_async(transitions.step_begin)(step, 0, "a-worker")

    events = [await communicator.receive_json_from(timeout=5) for _ in range(2)]
    by_type = {event["type"]: event for event in events}
    assert by_type["step"]["status"] == Status.RUNNING
    assert by_type["step"]["guid"] == "cpb-aacip-live"
    assert by_type["step"]["seq"] > snapshot["seq"]
    assert by_type["run"]["status"] == Status.RUNNING
    assert by_type["run"]["batch_counts"]["running"] == 1
    assert (await run_watcher.receive_json_from(timeout=5))["type"] in {"step", "run"}
    await communicator.disconnect()
    await run_watcher.disconnect()


async def test_the_real_stack_checks_the_session_and_the_origin(batch, viewer):
    client = Client()
    await sync_to_async(client.force_login)(viewer)
    cookie = f"sessionid={client.cookies['sessionid'].value}".encode()
    path = f"/ws/batches/{batch.pk}/"
    host = (b"host", b"localhost")

    good = WebsocketCommunicator(
        application, path, headers=[(b"cookie", cookie), host, (b"origin", b"http://localhost")]
    )
    connected, _ = await good.connect()
    assert connected
    assert (await good.receive_json_from(timeout=5))["type"] == "snapshot"
    await good.disconnect()

    foreign = WebsocketCommunicator(
        application, path, headers=[(b"cookie", cookie), host, (b"origin", b"http://evil.test")]
    )
    connected, _ = await foreign.connect()
    assert not connected
    await foreign.disconnect()  # let the refused consumer end, rather than cancel it as the loop closes

    anonymous = WebsocketCommunicator(application, path, headers=[host, (b"origin", b"http://localhost")])
    connected, _ = await anonymous.connect()
    assert not connected
    await anonymous.disconnect()


@pytest.mark.usefixtures("celery_worker")
async def test_the_newest_counts_are_right_after_a_flood_of_events(viewer, runner_apps, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    batch = await sync_to_async(flood_batch)(runner_apps)
    communicator, _, _ = await connect(f"/ws/batches/{batch.pk}/", viewer)
    latest = await communicator.receive_json_from(timeout=5)

    await sync_to_async(services.batch_start)(batch)
    while latest["batch_counts"].get("succeeded") != 30:
        event = await communicator.receive_json_from(timeout=30)
        if "batch_counts" in event and event["seq"] > latest["seq"]:
            latest = event

    await asyncio.sleep(0.5)  # anything still in flight must not be newer, or must agree
    while not await communicator.receive_nothing(timeout=0.2):
        event = await communicator.receive_json_from()
        if "batch_counts" in event and event["seq"] > latest["seq"]:
            latest = event
    assert latest["batch_counts"] == {
        "pending": 0,
        "queued": 0,
        "running": 0,
        "succeeded": 30,
        "failed": 0,
        "cancelled": 0,
    }
    await communicator.disconnect()


def flood_batch(runner_apps):
    from tests.runner_helpers import register

    for _url, behaviour in runner_apps.values():
        behaviour.reset()
    step = PipelineStepFactory(position=1, app=register(runner_apps, "first", max_concurrency=8))
    return BatchFactory(pipeline=step.pipeline, media_files=MediaFileFactory.create_batch(30))
