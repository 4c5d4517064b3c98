from django.db import transaction
from django.utils import timezone

from clams_apps.client import AppError, fetch_metadata
from clams_apps.metadata import AppMetadata
from clams_apps.models import ClamsApp, Health


def app_record_unreachable(app: ClamsApp) -> None:
    """Mark a saved app unreachable, touching nothing else about it."""
    if app.pk:
        now = timezone.now()
        ClamsApp.objects.filter(pk=app.pk).update(health=Health.UNREACHABLE, health_checked_at=now)
        app.health, app.health_checked_at = Health.UNREACHABLE, now


def app_apply_metadata(app: ClamsApp, metadata: dict) -> None:
    """Set fetched metadata on an (unsaved) app instance and mark it healthy."""
    now = timezone.now()
    app.metadata = metadata
    app.metadata_fetched_at = now
    app.health = Health.OK
    app.health_checked_at = now
    app.__dict__.pop("app_metadata", None)
    if not app.name:
        app.name = metadata.get("name", "")
    if not app.description:
        app.description = metadata.get("description", "")


def app_metadata_for_change(app: ClamsApp, *, endpoint: str, enabled: bool) -> dict | None:
    """The metadata to apply before saving a change of the app, fetched from ``endpoint``.

    Every door changing an app calls this first: a new endpoint, or an app that stays or becomes
    enabled, is read from the app (Chowda never saves an enabled app it cannot read); disabling
    an app at the same endpoint needs no answer (it is often down), and gives None.
    Raises AppError, after marking a saved app unreachable.
    """
    if app.pk and endpoint == app.endpoint and not enabled:
        return None
    try:
        return fetch_metadata(endpoint)
    except AppError:
        app_record_unreachable(app)
        raise


def app_refresh_metadata(app: ClamsApp) -> AppMetadata:
    """Fetch the app's metadata again and save it.

    Raises AppError (after marking the app unreachable) if the app cannot give it.
    """
    try:
        metadata = fetch_metadata(app.endpoint)
    except AppError:
        app_record_unreachable(app)
        raise
    app_apply_metadata(app, metadata)
    app.save(update_fields=["metadata", "metadata_fetched_at", "health", "health_checked_at", "updated_at"])
    return app.app_metadata


@transaction.atomic
def app_register(endpoint: str, *, name: str = "", **fields) -> ClamsApp:
    """Register a new app from its URL, with its fetched metadata.

    Raises AppError if the app cannot give its metadata, and ValidationError if the
    name or URL is invalid or already taken; nothing is saved then.
    """
    metadata = fetch_metadata(endpoint)
    app = ClamsApp(endpoint=endpoint, name=name, **fields)
    app_apply_metadata(app, metadata)
    app.full_clean()
    app.save()
    return app
