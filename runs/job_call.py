"""One step of an app run as a job (clams_apps.models.Mode): the MMIF goes to the app's cli.py as a file and
comes back as one, and what it wrote means what an HTTP answer means (runs/app_call.py).

Success is judged from the output MMIF, never from the exit code alone: it parses, has the app's new view
and no error view. The step's folder (under CHOWDA_JOB_ROOT) holds the input, the output and the command's
logs while the step runs, and goes when it ends; the last lines of stderr stay with the step.
"""

import contextlib
import shlex
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO

from django.conf import settings

from clams_apps.models import ClamsApp, Mode
from jobs import command, kubernetes, specs
from jobs.flags import cli_arguments
from jobs.specs import IN_FILE, OUT_FILE, job_spec
from runs import mmif_check, transitions
from runs.app_call import CHUNK, Answer, contents_of, judge_views, spool
from runs.models import IN_FLIGHT_STATUSES, Run, StepRun

# cli.py's exit code when argparse refused a flag (a parameter the app does not take, a value outside its choices).
USAGE_ERROR = 2


def step_folder(step: StepRun) -> Path:
    return specs.step_folder(step.run_id, step.position)


def still_ours(run_id: int, token: int) -> Callable[[], bool]:
    """Whether the step should stop: its run was cancelled, ended, or sent again (another task has it now)."""
    ours = Run.objects.filter(pk=run_id, dispatches=token, status__in=IN_FLIGHT_STATUSES)
    return lambda: not ours.exists()


def run_job_step(*, app: ClamsApp, **call) -> Answer:
    """Run the step as the app's mode says: a command on this machine, or a Kubernetes Job."""
    if app.mode == Mode.KUBERNETES:
        return run_kubernetes_step(app=app, **call)
    return run_command_step(app=app, **call)


def run_command_step(
    *,
    app: ClamsApp,
    step: StepRun,
    token: int,
    mmif: IO[bytes],
    known_view_ids: set[str],
    answer_as_kept: Callable | None = None,
    required_inputs: tuple | None = None,
) -> Answer:
    """Run the app's command on this step's MMIF and judge what it wrote. Never raises for anything the app does."""
    who = f"App '{step.app_name}' (command `{app.command}`)"
    try:
        argv = shlex.split(app.command)
    except ValueError as exc:
        return Answer("failed", f"{who} cannot be run: {exc}; fix the quotes in its command.")
    folder = step_folder(step)
    folder.mkdir(parents=True, exist_ok=True)
    try:
        with open(folder / IN_FILE, "wb") as given:
            shutil.copyfileobj(mmif, given, CHUNK)
        (folder / OUT_FILE).unlink(missing_ok=True)
        finished = command.run(
            [*argv, *cli_arguments(step.parameters, str(folder / IN_FILE), str(folder / OUT_FILE))],
            folder=folder,
            timeout=app.timeout,
            should_stop=still_ours(step.run_id, token),
        )
        answer = _judge(who, finished, folder / OUT_FILE, known_view_ids, answer_as_kept, required_inputs, app)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        _remove_if_empty(folder.parent)
    answer.duration = finished.duration if answer.duration is None else answer.duration
    answer.log_tail = finished.stderr_tail
    return answer


def run_kubernetes_step(
    *,
    app: ClamsApp,
    step: StepRun,
    token: int,
    mmif: IO[bytes],
    known_view_ids: set[str],
    answer_as_kept: Callable | None = None,
    required_inputs: tuple | None = None,
) -> Answer:
    """Run the step as a Kubernetes Job (jobs/kubernetes.py) and judge what it wrote on the exchange volume.

    A step sent again after its worker stopped has its Job's name recorded (``StepRun.job_name``): it creates the
    same Job, which the API server refuses with 409, and watches that one. While the API server cannot be reached
    the step waits (``Answer.kind`` "wait"); its folder and Job name stay for the step sent again.
    """
    who = f"App '{step.app_name}' (image {app.image})"
    adopting = bool(step.job_name)
    spec = job_spec(
        app,
        run_id=step.run_id,
        position=step.position,
        dispatch=token,
        parameters=step.parameters,
        name=step.job_name,
    )
    folder = step_folder(step)
    folder.mkdir(parents=True, exist_ok=True)
    if not adopting:
        with open(folder / IN_FILE, "wb") as given:
            shutil.copyfileobj(mmif, given, CHUNK)
        (folder / OUT_FILE).unlink(missing_ok=True)
        transitions.step_job_state(step, token, "Creating its Kubernetes Job", job_name=spec.name)
    started = time.monotonic()
    outcome = kubernetes.run_job(
        cluster(),
        spec,
        should_stop=still_ours(step.run_id, token),
        on_progress=lambda state: transitions.step_job_state(step, token, state),
        poll=settings.KUBERNETES_POLL,
    )
    duration = time.monotonic() - started
    if outcome.kind == "unreachable":
        return Answer("wait", f"{who}: {outcome.message}", duration=duration)
    try:
        answer = _judge_job(who, outcome, folder / OUT_FILE, known_view_ids, answer_as_kept, required_inputs, app)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        _remove_if_empty(folder.parent)
    answer.duration, answer.log_tail = duration, outcome.log_tail
    return answer


def cluster() -> "kubernetes.Cluster":
    """The Kubernetes API as the worker's settings reach it (CHOWDA_KUBERNETES_API)."""
    return kubernetes.Cluster.from_settings(
        api=settings.KUBERNETES_API, token=settings.KUBERNETES_TOKEN, ca_file=settings.KUBERNETES_CA_FILE
    )


def _judge_job(
    who: str,
    outcome: "kubernetes.JobOutcome",
    output: Path,
    known_view_ids: set[str],
    answer_as_kept: Callable | None,
    required_inputs: tuple | None,
    app: ClamsApp,
) -> Answer:
    """A Job's end, judged as a command's: its pod's exit code stands for the command's."""
    if outcome.kind == "cancelled":
        return Answer("stopped", f"{who} was stopped because its run was cancelled; its Job was deleted.")
    if outcome.kind == "deadline":
        return Answer(
            "transient", f"{who} did not finish within {app.timeout:g} seconds (its timeout); its Job was ended."
        )
    if outcome.kind == "refused":
        return Answer("failed", f"{who} could not be run: {outcome.message}")
    code = 0 if outcome.kind == "succeeded" else (outcome.exit_code if outcome.exit_code is not None else 1)
    finished = command.Finished("exited", code, 0.0, outcome.log_tail)
    answer = _judge(who, finished, output, known_view_ids, answer_as_kept, required_inputs, app)
    if outcome.kind == "failed" and answer.kind == "failed" and outcome.message and not answer.body:
        answer.message = f"{answer.message} The Job: {outcome.message}"
    return answer


def _judge(
    who: str,
    finished: command.Finished,
    output: Path,
    known_view_ids: set[str],
    answer_as_kept: Callable | None,
    required_inputs: tuple | None,
    app: ClamsApp,
) -> Answer:
    said = _said(finished.stderr_tail)
    if finished.ended == "not_started":
        return Answer("failed", f"{who} could not start: {finished.message}. Check the app's command.")
    if finished.ended == "stopped":
        return Answer("stopped", f"{who} was stopped because its run was cancelled.")
    if finished.ended == "timeout":
        return Answer(
            "transient", f"{who} did not finish within {app.timeout:g} seconds (its timeout); Chowda ended it."
        )
    code = finished.exit_code
    if code == USAGE_ERROR:
        refused = next((line for line in reversed(said.splitlines()) if "error:" in line), said)
        return Answer(
            "failed",
            f"{who} refused its parameters (exit code 2): {refused.split('error:', 1)[-1].strip()}. "
            "Check the step's parameters against the app's metadata.",
        )
    if not output.exists() or output.stat().st_size == 0:
        return Answer(
            "failed",
            f"{who} wrote no output MMIF (exit code {code})"
            + (f"; the last lines it printed: {said}" if said else ", and printed nothing to say why."),
        )
    with open(output, "rb") as written:
        chunks = iter(lambda: written.read(CHUNK), b"")
        body = spool(answer_as_kept(chunks) if answer_as_kept else chunks)
    return _read_output(who, code, body, known_view_ids, required_inputs, said)


def _read_output(
    who: str, code: int | None, body: IO[bytes], known_view_ids: set[str], required_inputs: tuple | None, said: str
) -> Answer:
    try:
        with contents_of(body) as contents:
            answer = mmif_check.check(contents)
    except mmif_check.NotJson:
        body.close()
        return Answer("failed", f"{who} wrote an output that is not JSON (exit code {code}).")
    except mmif_check.NotMmif as exc:
        body.close()
        return Answer("failed", f"{who} wrote JSON that is not valid MMIF (exit code {code}): {exc}.")
    body.seek(0)
    judged = judge_views(
        who,
        answer,
        body,
        known_view_ids,
        required_inputs,
        ok=code == 0,
        not_ok=f"{who} exited with code {code} and wrote MMIF without an error view saying why"
        + (f"; the last lines it printed: {said}" if said else "."),
        verb="wrote",
    )
    if judged.body is None:
        body.close()
    return judged


def _said(stderr_tail: str, lines: int = 5) -> str:
    return " / ".join(line.strip() for line in stderr_tail.strip().splitlines()[-lines:] if line.strip())


def _remove_if_empty(folder: Path) -> None:
    with contextlib.suppress(OSError):  # other steps of the run still use it, or it is gone
        folder.rmdir()
