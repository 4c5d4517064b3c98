"""The Curators and Viewers groups, kept in step with the code after every migrate (and test flush)."""

from django.contrib.auth.models import Group, Permission

CURATOR_MODELS = {
    "clams_apps": ["clamsapp"],
    "pipelines": ["pipeline", "pipelinestep"],
    "batches": ["mediafile", "collection", "batch"],
    "sources": ["mediasource", "schedule"],
    "evaluations": ["goldset", "goldfile", "evaluation"],
}
READ_ONLY_MODELS = {
    "runs": ["run", "steprun"],
    "deliverables": ["finalmmif", "delivery"],
    "background": ["backgroundjob"],
    "sources": ["syncrun"],
    "evaluations": ["evaluationfile"],
}
# Marking a final MMIF is adding one; delivering a batch is adding a delivery; trying a failed background
# job again is changing it.
CURATOR_EXTRA = [
    ("batches", "run_batch"),
    ("deliverables", "add_finalmmif"),
    ("deliverables", "add_delivery"),
    ("background", "change_backgroundjob"),
]


def _permissions(models_by_app: dict[str, list[str]], actions: list[str]) -> list[Permission]:
    wanted = {
        (app, f"{action}_{model}") for app, models in models_by_app.items() for model in models for action in actions
    }
    return _lookup(wanted)


def _lookup(wanted: set[tuple[str, str]]) -> list[Permission]:
    found = [
        p
        for p in Permission.objects.select_related("content_type").filter(codename__in={c for _, c in wanted})
        if (p.content_type.app_label, p.codename) in wanted
    ]
    return found


def sync_roles(**kwargs) -> None:
    """Create the groups if missing and give them exactly their permissions."""
    curators, _ = Group.objects.get_or_create(name="Curators")
    curators.permissions.set(
        _permissions(CURATOR_MODELS, ["add", "change", "delete", "view"])
        + _permissions(READ_ONLY_MODELS, ["view"])
        + _lookup(set(CURATOR_EXTRA))
    )
    viewers, _ = Group.objects.get_or_create(name="Viewers")
    viewers.permissions.set(_permissions(CURATOR_MODELS, ["view"]) + _permissions(READ_ONLY_MODELS, ["view"]))
