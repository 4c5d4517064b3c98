"""A media source's websocket: only those who may see sources watch it; its latest sync first, then each page."""

import threading

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator

from sources.models import MediaSource, SourceKind
from sources.services import source_sync
from sources.sync import sync_run
from tests.factories import UserFactory
from tests.feed_server import FeedServer

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio, pytest.mark.usefixtures("redis_url")]


@pytest.fixture(autouse=True)
def channel_layer_of_this_loop():
    from channels.layers import channel_layers

    channel_layers.backends.clear()


async def connect(path, user):
    from channels.routing import URLRouter

    from sources.routing import websocket_urlpatterns

    communicator = WebsocketCommunicator(URLRouter(websocket_urlpatterns), path)
    communicator.scope["user"] = user
    connected, code = await communicator.connect()
    return communicator, connected, code


async def test_only_users_who_may_see_sources_watch_one(viewer):
    source = await sync_to_async(MediaSource.objects.create)(name="feed", kind=SourceKind.HTTP_FEED, api_url="x")
    stranger = await sync_to_async(UserFactory)(username="stranger")

    communicator, connected, code = await connect(f"/ws/media-sources/{source.pk}/", stranger)
    await communicator.disconnect()
    assert (connected, code) == (False, 4403)
    communicator, connected, code = await connect("/ws/media-sources/999999/", viewer)
    await communicator.disconnect()
    assert (connected, code) == (False, 4403)

    communicator, connected, _ = await connect(f"/ws/media-sources/{source.pk}/", viewer)
    assert connected
    assert await communicator.receive_json_from(timeout=10) == {"type": "sync", "sync": None}
    await communicator.disconnect()


async def test_a_viewer_sees_each_page_of_a_sync_and_its_end(viewer):
    with FeedServer(page_size=2) as feed:
        feed.items = [
            {"name": f"cpb-aacip-live-{n}.mp4", "location": f"https://m.example.org/{n}.mp4"} for n in range(3)
        ]
        source = await sync_to_async(MediaSource.objects.create)(
            name="live feed", kind=SourceKind.HTTP_FEED, api_url=feed.url
        )
        communicator, _, _ = await connect(f"/ws/media-sources/{source.pk}/", viewer)
        await communicator.receive_json_from(timeout=10)
        second_page = feed.hold(2)

        asked = await sync_to_async(source_sync)(source, trigger="test", in_background=False)
        syncing = threading.Thread(target=sync_run, args=(asked.sync.pk,))
        syncing.start()
        seen = []
        while not seen or seen[-1]["pages"] < 1:
            seen.append(await communicator.receive_json_from(timeout=30))
        first_page = seen[-1]  # the second page is still held: the sync is caught in the middle
        second_page.set()
        while seen[-1]["active"]:
            seen.append(await communicator.receive_json_from(timeout=30))
        await sync_to_async(syncing.join)()
        await communicator.disconnect()

    assert seen[0]["status"] == "pending"
    assert (first_page["status"], first_page["pages"], first_page["seen"], first_page["new"]) == ("running", 1, 2, 2)
    last = seen[-1]
    assert (last["status"], last["pages"], last["new"]) == ("succeeded", 2, 3)
    assert last["sentence"].startswith("Synced source 'live feed': 3 items in 2 page(s)")
