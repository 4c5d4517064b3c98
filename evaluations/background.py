"""Evaluations are scored as background work (background/): registered when Django starts (evaluations/apps.py)."""

from background.kinds import Kind, register
from evaluations.services import JOB_KIND, evaluation_job


def register_kinds() -> None:
    # Scoring says how far it got every ten files (job_progress), which keeps a long one from counting as lost.
    register(Kind(JOB_KIND, evaluation_job, describe=lambda pk: f"score evaluation {pk}", timeout=900, attempts=2))
