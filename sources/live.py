"""A source's syncs, live: every change of a sync (it starts, a page is done, it ends) is pushed to the
pages that watch its source (the Channels group ``media-source-<id>``), as runs' progress is."""

from django.db import transaction

from runs.events import publisher
from sources.models import ACTIVE_SYNC_STATUSES, SyncRun

COUNTS = ["pages", "seen", "new", "updated", "unchanged", "missing", "skipped", "errors"]


def source_group(source_id: int) -> str:
    return f"media-source-{source_id}"


def sync_event(sync: SyncRun | None) -> dict:
    """What a source's page shows of its latest sync (``sync`` None: it has none yet)."""
    if sync is None:
        return {"type": "sync", "sync": None}
    return {
        "type": "sync",
        "sync": sync.pk,
        "source": sync.source_id,
        "status": sync.status,
        "status_label": sync.get_status_display(),
        "active": sync.status in ACTIVE_SYNC_STATUSES,
        "sentence": sync.sentence,
        "started_at": sync.started_at.isoformat() if sync.started_at else None,
        "finished_at": sync.finished_at.isoformat() if sync.finished_at else None,
        **{name: getattr(sync, name) for name in COUNTS},
    }


def latest_sync_event(source_id: int) -> dict:
    return sync_event(SyncRun.objects.filter(source_id=source_id).order_by("-pk").first())


def sync_changed(sync_id: int) -> None:
    """Push the sync as it is once the current transaction commits (at once outside one)."""

    def send():
        sync = SyncRun.objects.filter(pk=sync_id).first()
        if sync is not None:
            publisher.send([source_group(sync.source_id)], sync_event(sync))

    transaction.on_commit(send)
