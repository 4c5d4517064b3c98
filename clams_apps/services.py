from django.db import transaction
from django.utils import timezone

from clams_apps.client import AppError, fetch_metadata, metadata_from_command, metadata_from_json
from clams_apps.metadata import AppMetadata
from clams_apps.models import ClamsApp, Health, Mode


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


# What an app runs on Chowda's machines or cluster: setting these runs code there, so only people with the
# permission "Can set the command or container image a CLAMS app runs" (operators; no role has it) may.
RUNNER_FIELDS = ("command", "metadata_command", "image")


def runner_change_refused(user, app: ClamsApp | None, changes: dict) -> str | None:
    """The sentence refusing ``user`` a change of what the app runs (its command, metadata command or image, or
    making it a job), or None when the change touches none of them or the user may make it. Every door asks."""
    if user.has_perm("clams_apps.set_app_runner"):
        return None
    mode = changes.get("mode", app.mode if app else Mode.SERVICE)
    changed = [
        name for name in RUNNER_FIELDS if name in changes and changes[name] != (getattr(app, name) if app else "")
    ]
    if mode != Mode.SERVICE and (app is None or app.mode != mode):
        changed.insert(0, "mode")
    if not changed:
        return None
    return (
        f"You may not set what an app runs ({', '.join(changed)}): a command or an image runs code on Chowda's "
        "machines or cluster, so only an operator with the permission “Can set the command or container image a "
        "CLAMS app runs” may. Ask your operator to register the app."
    )


def job_metadata(*, metadata_command: str = "", metadata_json: str | bytes | dict | None = None) -> dict:
    """The metadata of an app run as a job: printed by its metadata command, or pasted (``metadata_json``).

    Raises AppError with the sentence to show when neither is given or what was given is not app metadata.
    """
    if metadata_json:
        return metadata_from_json(metadata_json)
    if metadata_command.strip():
        return metadata_from_command(metadata_command)
    raise AppError(
        "An app run as a job needs its metadata: give the command that prints it (python metadata.py in the "
        "CLAMS app template) or paste the metadata JSON."
    )


def app_metadata_for_change(
    app: ClamsApp,
    *,
    endpoint: str | None,
    enabled: bool,
    mode: str = Mode.SERVICE,
    metadata_command: str = "",
    metadata_json: str | bytes | dict | None = None,
) -> dict | None:
    """The metadata to apply before saving a change of the app: fetched from ``endpoint`` for a web service, run
    by ``metadata_command`` or pasted (``metadata_json``) for a job.

    Every door changing an app calls this first: a new endpoint, or an app that stays or becomes
    enabled, is read from the app (Chowda never saves an enabled app it cannot read); disabling
    an app at the same endpoint needs no answer (it is often down), and gives None. A job app is read again
    when its metadata command changed or metadata was pasted, else None (its saved metadata stays).
    Raises AppError, after marking a saved web service unreachable.
    """
    if mode != Mode.SERVICE:
        if metadata_json or not app.pk or not app.metadata or metadata_command != app.metadata_command:
            return job_metadata(metadata_command=metadata_command, metadata_json=metadata_json)
        return None
    if app.pk and endpoint == app.endpoint and not enabled:
        return None
    try:
        return fetch_metadata(endpoint)
    except AppError:
        app_record_unreachable(app)
        raise


def app_refresh_metadata(app: ClamsApp) -> AppMetadata:
    """Fetch the app's metadata again and save it.

    Raises AppError (after marking the app unreachable) if the app cannot give it; for an app run as a job, the
    metadata command is run again, and pasted metadata cannot be refreshed (AppError says to paste it again).
    """
    if app.is_job and not app.metadata_command:
        raise AppError("Its metadata was pasted, so Chowda cannot read it again: paste the new metadata instead.")
    try:
        metadata = metadata_from_command(app.metadata_command) if app.is_job else fetch_metadata(app.endpoint)
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


@transaction.atomic
def app_register_job(
    mode: str,
    *,
    name: str = "",
    command: str = "",
    metadata_command: str = "",
    metadata_json: str | bytes | dict | None = None,
    image: str = "",
    **fields,
) -> ClamsApp:
    """Register an app run as a job (``mode`` command or kubernetes), with its metadata from ``metadata_command``
    or pasted. A Kubernetes app's command defaults to the template's ``python3 cli.py``.

    Raises AppError if the metadata cannot be read, and ValidationError if a field is invalid or taken;
    nothing is saved then.
    """
    if mode == Mode.KUBERNETES and not command:
        command = DEFAULT_IMAGE_COMMAND
    metadata = job_metadata(metadata_command=metadata_command, metadata_json=metadata_json)
    app = ClamsApp(
        mode=mode, name=name, command=command, metadata_command=metadata_command, image=image, endpoint=None, **fields
    )
    app_apply_metadata(app, metadata)
    app.full_clean()
    app.save()
    return app


# What runs the app in its image when nothing else is said: the CLAMS app template's cli.py, in its workdir.
DEFAULT_IMAGE_COMMAND = "python3 cli.py"
