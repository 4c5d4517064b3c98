"""Where MMIF files live: Django's default storage, one file per step output, named after batch, GUID, run and step."""

from django.core.files import File
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils.text import slugify


def run_folder(run) -> str:
    return f"mmif/batch-{run.batch_id}/{run.media_file.guid}/run-{run.pk}"


def source_path(run) -> str:
    return f"{run_folder(run)}/source.mmif"


def step_path(step, *, error: bool = False) -> str:
    name = slugify(step.app_name) or "app"
    return f"{run_folder(step.run)}/step-{step.position}-{name}{'-error' if error else ''}.mmif"


def save_text(path: str, text: str) -> str:
    """Store text at (or next to) ``path``; returns the name it was stored under."""
    return default_storage.save(path, ContentFile(text.encode()))


def save_file(path: str, file) -> str:
    """Store an open binary file, streamed in chunks; returns the name it was stored under."""
    file.seek(0)
    return default_storage.save(path, File(file))


def open_mmif(name: str):
    """Open a stored MMIF for reading in binary."""
    return default_storage.open(name, "rb")
