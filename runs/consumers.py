"""Websockets of the live pages: a snapshot on connect (and on request), then every progress event."""

from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer, AsyncWebsocketConsumer

from batches.models import Batch
from runs import live
from runs.events import batch_group, run_group
from runs.models import Run

REFUSED = 4403  # close code: not allowed to watch this
NOT_JSON = 'This socket reads JSON messages such as {"type": "resync"}; the last message was not JSON.'


class ProgressConsumer(AsyncJsonWebsocketConsumer):
    """Joins one group; only users who may view batches and runs are let in."""

    async def connect(self):
        self.group = None
        user = self.scope.get("user")
        if not user or not user.is_authenticated or not await self._may_view(user):
            await self.close(code=REFUSED)
            return
        self.group = await self.find_group()
        if self.group is None:
            await self.close(code=REFUSED)
            return
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        query = parse_qs(self.scope.get("query_string", b"").decode())
        await self.send_json(await self.snapshot({k: v[-1] for k, v in query.items()}))

    async def disconnect(self, code):
        if self.group:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive(self, text_data=None, bytes_data=None, **kwargs):
        """Like Channels' JSON consumer, except that a frame it cannot read is answered, not fatal.

        Channels raises on such a frame, which closes the socket with 1011 and logs a traceback: a page
        whose script sent one stray message would stop updating.
        """
        try:
            content = await self.decode_json(text_data or "")
        except (ValueError, RecursionError):  # not JSON (or a binary frame), too deep, or a number too long
            await self.send_json({"type": "error", "message": NOT_JSON})
            return
        await self.receive_json(content, **kwargs)

    async def receive_json(self, content, **kwargs):
        if isinstance(content, dict) and content.get("type") == "resync":
            await self.send_json(await self.snapshot(content))

    async def progress(self, message):
        await self.send_json(message["event"])

    @database_sync_to_async
    def _may_view(self, user) -> bool:
        return user.has_perms(["batches.view_batch", "runs.view_run"])


class BatchConsumer(ProgressConsumer):
    @database_sync_to_async
    def find_group(self):
        self.batch = Batch.objects.select_related("pipeline").filter(pk=self.scope["url_route"]["kwargs"]["pk"]).first()
        return batch_group(self.batch.pk) if self.batch else None

    @database_sync_to_async
    def snapshot(self, request: dict) -> dict:
        return live.batch_snapshot(
            self.batch, page=live.page_number(request.get("page")), status=str(request.get("status") or "") or None
        )


class RunConsumer(ProgressConsumer):
    @database_sync_to_async
    def find_group(self):
        self.run = Run.objects.filter(pk=self.scope["url_route"]["kwargs"]["pk"]).first()
        return run_group(self.run.pk) if self.run else None

    @database_sync_to_async
    def snapshot(self, request: dict) -> dict:
        return live.run_snapshot(self.run)


class NothingToWatch(AsyncWebsocketConsumer):
    """Any other path, or an id no object can have: refused like a batch that does not exist."""

    async def connect(self):
        await self.close(code=REFUSED)
