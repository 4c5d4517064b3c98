"""A live page's websocket opens only from a page of this site: same host and port, or a trusted origin."""

import pytest
from asgiref.sync import sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from channels.testing import WebsocketCommunicator
from django.test import Client

from chowda_site.asgi import application
from chowda_site.websocket_origin import OriginValidator
from tests.factories import BatchFactory

pytestmark = pytest.mark.asyncio


class Accepting(AsyncWebsocketConsumer):
    async def connect(self):
        await self.accept()


async def opens(host: str, origin: str | None) -> bool:
    headers = [(b"host", host.encode())] + ([(b"origin", origin.encode())] if origin is not None else [])
    communicator = WebsocketCommunicator(OriginValidator(Accepting.as_asgi()), "/ws/batches/1/", headers=headers)
    connected, _ = await communicator.connect()
    await communicator.disconnect()
    return connected


@pytest.fixture(autouse=True)
def site(settings, request):
    settings.ALLOWED_HOSTS = ["chowda.example.org", "localhost", "127.0.0.1"]
    settings.CSRF_TRUSTED_ORIGINS = []
    if "redis_url" not in request.fixturenames:
        # The check alone needs no Redis: with the in-memory layer a consumer stops at once when it is
        # disconnected, instead of after the communicator's one-second wait for a pending Redis read.
        settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}


@pytest.mark.parametrize(
    ("host", "origin"),
    [
        ("127.0.0.1:8000", "http://127.0.0.1:8000"),
        ("chowda.example.org", "https://chowda.example.org"),
        ("chowda.example.org", "http://chowda.example.org"),  # behind a TLS proxy the scheme may differ
        ("Chowda.Example.org", "https://chowda.example.ORG"),
    ],
)
async def test_a_page_of_the_site_itself_may_open_a_socket(host, origin):
    assert await opens(host, origin)


@pytest.mark.parametrize(
    ("host", "origin"),
    [
        ("127.0.0.1:8000", "http://127.0.0.1:1"),
        ("127.0.0.1:8000", "http://127.0.0.1"),
        ("chowda.example.org", "https://chowda.example.org:8443"),
        ("127.0.0.1:8000", "http://localhost:8000"),
        ("chowda.example.org", "https://evil.example.com"),
        ("chowda.example.org", "null"),
        ("chowda.example.org", "http://[::1"),
    ],
    ids=["other port", "default port", "https other port", "other allowed host", "foreign", "null", "unparseable"],
)
async def test_a_page_of_another_site_or_port_may_not(host, origin):
    assert not await opens(host, origin)


async def test_a_host_the_site_is_not_served_under_is_refused_even_when_the_origin_matches_it():
    assert not await opens("evil.example.com", "https://evil.example.com")


async def test_a_trusted_origin_may_open_a_socket(settings):
    settings.CSRF_TRUSTED_ORIGINS = ["https://chowda.example.org:8443", "https://*.archive.example.org"]

    assert await opens("chowda.example.org", "https://chowda.example.org:8443")
    assert await opens("chowda.example.org", "https://ops.archive.example.org")
    assert not await opens("chowda.example.org", "http://ops.archive.example.org")


async def test_a_client_that_sends_no_origin_is_let_through_because_only_browsers_send_one():
    assert await opens("chowda.example.org", None)


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("redis_url")
async def test_the_served_site_refuses_a_page_on_another_port_of_the_same_host(viewer):
    batch = await sync_to_async(BatchFactory)(name="Watched")
    client = Client()
    await sync_to_async(client.force_login)(viewer)
    cookie = (b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode())
    path = f"/ws/batches/{batch.pk}/"

    same_port = WebsocketCommunicator(
        application, path, headers=[cookie, (b"host", b"127.0.0.1:8000"), (b"origin", b"http://127.0.0.1:8000")]
    )
    assert (await same_port.connect())[0]
    await same_port.disconnect()

    other_port = WebsocketCommunicator(
        application, path, headers=[cookie, (b"host", b"127.0.0.1:8000"), (b"origin", b"http://127.0.0.1:1")]
    )
    assert not (await other_port.connect())[0]
    await other_port.disconnect()
