"""The Kubernetes Job of one step of an app, built from the app's settings: the runner creates it, and
``manage.py render_job`` prints it for review (with placeholder ids), so both show the same Job."""

import shlex
from pathlib import Path
from typing import Any

from django.conf import settings

from clams_apps.models import ClamsApp
from clams_apps.services import DEFAULT_IMAGE_COMMAND
from jobs.flags import cli_arguments
from jobs.kubernetes import JobSpec, Volume

IN_FILE = "in.mmif"
OUT_FILE = "out.mmif"
CACHE_MOUNT = "/cache"


def job_name(run_id: int, position: int, dispatch: int) -> str:
    """Deterministic, so the step sent again after its worker stopped creates the same Job and adopts it (409)."""
    return f"chowda-r{run_id}-s{position}-d{dispatch}"


def dispatch_of(name: str) -> int:
    """The dispatch number a Job's name was made with: a step sent again adopts its Job with the labels it had."""
    return int(name.rsplit("-d", 1)[1])


def step_folder(run_id: int, position: int) -> Path:
    """The step's folder on the exchange volume: the workers and the Jobs see it at the same path."""
    return Path(settings.JOB_ROOT) / f"run-{run_id}" / f"step-{position}"


def gpus(app: ClamsApp) -> int:
    """The app's GPUs; when not set, one if its metadata estimates it uses GPU memory (est_gpu_mem_*), else none."""
    if app.gpus is not None:
        return app.gpus
    metadata = app.metadata or {}
    estimated = [metadata.get("est_gpu_mem_min"), metadata.get("est_gpu_mem_typ")]
    return 1 if any(isinstance(mb, (int, float)) and mb > 0 for mb in estimated) else 0


def volumes() -> tuple[Volume, ...]:
    mounted = [Volume("exchange", settings.KUBERNETES_EXCHANGE_CLAIM, str(Path(settings.JOB_ROOT).resolve()))]
    if settings.KUBERNETES_MEDIA_CLAIM:
        mounted.append(
            Volume("media", settings.KUBERNETES_MEDIA_CLAIM, settings.KUBERNETES_MEDIA_MOUNT, read_only=True)
        )
    if settings.KUBERNETES_CACHE_CLAIM:
        mounted.append(Volume("cache", settings.KUBERNETES_CACHE_CLAIM, CACHE_MOUNT))
    return tuple(mounted)


def job_spec(
    app: ClamsApp, *, run_id: int, position: int, dispatch: int, parameters: dict[str, Any], name: str = ""
) -> JobSpec:
    folder = step_folder(run_id, position).resolve()
    dispatch = dispatch_of(name) if name else dispatch
    command = shlex.split(app.command or DEFAULT_IMAGE_COMMAND)
    return JobSpec(
        name=name or job_name(run_id, position, dispatch),
        namespace=app.namespace or settings.KUBERNETES_NAMESPACE,
        image=app.image,
        command=[*command, *cli_arguments(parameters, str(folder / IN_FILE), str(folder / OUT_FILE))],
        labels={
            "app.kubernetes.io/managed-by": "chowda",
            "chowda.clams.ai/app": str(app.pk),
            "chowda.clams.ai/run": str(run_id),
            "chowda.clams.ai/step": str(position),
            "chowda.clams.ai/dispatch": str(dispatch),
        },
        volumes=volumes(),
        gpus=gpus(app),
        memory=app.memory,
        node_selector=dict(app.node_selector or {}),
        tolerations=tuple(app.tolerations or ()),
        service_account=app.service_account,
        deadline_seconds=app.timeout,
        ttl_seconds=settings.KUBERNETES_TTL,
        env={"CACHE_DIR": CACHE_MOUNT} if settings.KUBERNETES_CACHE_CLAIM else {},
    )
