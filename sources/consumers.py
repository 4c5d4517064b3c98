"""The websocket of a media source's page: its latest sync on connect, then every change of its syncs."""

from channels.db import database_sync_to_async

from runs.consumers import ProgressConsumer
from sources.live import latest_sync_event, source_group
from sources.models import MediaSource


class SourceConsumer(ProgressConsumer):
    """Only users who may view sources and their syncs are let in (Viewers, Curators, Admins)."""

    @database_sync_to_async
    def _may_view(self, user) -> bool:
        return user.has_perms(["sources.view_mediasource", "sources.view_syncrun"])

    @database_sync_to_async
    def find_group(self):
        self.source_id = (
            MediaSource.objects.filter(pk=self.scope["url_route"]["kwargs"]["pk"]).values_list("pk", flat=True).first()
        )
        return source_group(self.source_id) if self.source_id else None

    @database_sync_to_async
    def snapshot(self, request: dict) -> dict:
        return latest_sync_event(self.source_id)
