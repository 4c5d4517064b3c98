"""The background work of media sources (background/): a sync, and the resolving of Sony Ci locations.

Registered when Django starts (sources/apps.py).
"""

from background.kinds import Kind, register
from batches.locations import register_scheme
from sources.resolve import SONYCI_SCHEME, check_sonyci_location, resolve_sonyci
from sources.sync import sync_job


def register_kinds() -> None:
    # A sync says how far it got (job_progress) page by page, which keeps it from counting as lost.
    register(Kind("sync", sync_job, describe=lambda pk: f"sync media from the source of sync {pk}", timeout=900))
    register_scheme(SONYCI_SCHEME, resolve=resolve_sonyci, check=check_sonyci_location)
