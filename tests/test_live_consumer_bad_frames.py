"""A live page's websocket answers a frame it cannot read with an error message, and stays open."""

import pytest

from tests.factories import BatchFactory, MediaFileFactory, PipelineStepFactory
from tests.test_live_consumers import connect

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio, pytest.mark.usefixtures("redis_url")]


@pytest.fixture
def batch(db):
    step = PipelineStepFactory(position=1)
    return BatchFactory(name="Live", pipeline=step.pipeline, media_files=[MediaFileFactory(guid="cpb-aacip-frames")])


@pytest.mark.parametrize("frame", ["resync please", "[" * 100_000], ids=["text", "nested too deeply"])
async def test_a_frame_that_is_not_json_is_answered_with_an_error_and_the_socket_stays_open(batch, viewer, frame):
    communicator, connected, _ = await connect(f"/ws/batches/{batch.pk}/", viewer)
    assert connected
    assert (await communicator.receive_json_from(timeout=5))["type"] == "snapshot"

    await communicator.send_to(text_data=frame)

    assert await communicator.receive_json_from(timeout=5) == {
        "type": "error",
        "message": 'This socket reads JSON messages such as {"type": "resync"}; the last message was not JSON.',
    }
    await communicator.send_json_to({"type": "resync"})
    snapshot = await communicator.receive_json_from(timeout=5)
    assert snapshot["type"] == "snapshot"
    assert snapshot["rows"][0]["guid"] == "cpb-aacip-frames"
    await communicator.disconnect()


async def test_a_binary_frame_is_answered_with_an_error_and_the_socket_stays_open(batch, viewer):
    communicator, connected, _ = await connect(f"/ws/batches/{batch.pk}/", viewer)
    assert connected
    await communicator.receive_json_from(timeout=5)

    await communicator.send_to(bytes_data=b"\x00\x01")

    assert await communicator.receive_json_from(timeout=5) == {
        "type": "error",
        "message": 'This socket reads JSON messages such as {"type": "resync"}; the last message was not JSON.',
    }
    await communicator.send_json_to({"type": "resync"})
    assert (await communicator.receive_json_from(timeout=5))["type"] == "snapshot"
    await communicator.disconnect()
