"""Starting, cancelling and retrying runs: what the admin, the live pages, the API and the commands call.

They only write rows: a new run is pending, and the dispatcher (runs/dispatcher.py) sends it to the
queue, so starting 100,000 files or cancelling them takes seconds and works while Redis is down.
Status changes are conditional UPDATEs (``WHERE status IN ...``) so a cancel and a finishing step
can race without one undoing the other; what a step does to its run is in transitions.py.
"""

import random
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from batches.models import Batch, validate_guid
from chowda_site.insert_select import insert_select
from chowda_site.refusals import Refused
from chowda_site.text import few
from clams_apps.parameters import InvalidParameters, query_params
from pipelines.models import Pipeline
from runs import events
from runs.dispatcher import QueueUnavailable, send_pending
from runs.models import ACTIVE_STATUSES, BatchInput, Run, Status, StepRun
from runs.selectors import chunks, files_to_start, runs_to_cancel, runs_to_retry
from runs.signals import run_finished


class RunnerError(Refused):
    """A batch or run cannot be started, cancelled or retried; the message says why and what to do."""


@dataclass
class StartResult:
    """What starting a batch did; ``sentence`` says it to the curator, in the admin, the API and the commands."""

    started: int = 0
    already: int = 0
    without_input: list[str] = field(default_factory=list)
    # Where files without an input should have found one: "in batch 'X'", "of pipeline 'Y'".
    input_from: str = "in the input batch"
    # Redis could not be reached: the runs wait, pending, and are sent once it is back.
    queue_down: bool = False
    # A pilot: which files it took ("the first 2 by GUID"), and how many still wait for a later Start.
    pilot: str = ""
    unstarted: int = 0
    # Step positions whose parameters were overridden for this start.
    overridden: list[int] = field(default_factory=list)

    def __bool__(self) -> bool:
        return self.started > 0

    @property
    def sentence(self) -> str:
        missing = len(self.without_input)
        if not self.started and self.pilot and not missing:
            return (
                f"Nothing was started: none of the pilot's files ({self.pilot}) is still to run; "
                f"{self.unstarted} other file(s) wait for the next Start."
            )
        if not self.started:
            if missing:
                return (
                    f"Nothing was started: none of the {missing} file(s) still to run has an output "
                    f"{self.input_from} yet."
                )
            if self.already:
                return f"Nothing was started: all {self.already} file(s) are already queued, running or done."
            return "Nothing was started: the batch has no media files; import some into it first."
        said = f"Started {self.started} file(s)"
        if self.pilot:
            said += f" as a pilot ({self.pilot}); {self.unstarted} more wait for the next Start"
        if self.overridden:
            steps = ", ".join(str(position) for position in self.overridden)
            said += f", with parameters of step {steps} overridden for this start"
        if self.already:
            said += f"; {self.already} already queued, running or done"
        if missing:
            shown = ", ".join(self.without_input[:10]) + ("…" if missing > 10 else "")
            said += f"; {missing} have no output {self.input_from} yet: {shown}"
        if self.queue_down:
            said += ". They wait for the queue (Redis cannot be reached now) and start as soon as it is back"
        return said + "."


@dataclass(frozen=True)
class RunsChanged:
    """How many runs a cancel or retry changed, and the sentence that says so (or why none was).

    Sentences do not name the batch: a door acting on several batches puts its name before them.
    """

    count: int
    sentence: str

    def __bool__(self) -> bool:
        return self.count > 0


# A pilot larger than this is a start of the batch, not a pilot (and its GUIDs would not fit one query).
PILOT_MAX_FILES = 10_000
DEFAULT_PILOT_SEED = 1


@dataclass(frozen=True)
class Pilot:
    """Which of the files still to run a start takes: the first ``first`` by GUID, the listed ``guids``, or a
    random ``sample`` of that many, drawn with ``seed`` (from the same files still to run, the same
    seed draws the same sample; once some have run, it draws among those left)."""

    first: int | None = None
    guids: tuple[str, ...] = ()
    sample: int | None = None
    seed: int = DEFAULT_PILOT_SEED

    def check(self) -> None:
        """Raises RunnerError saying what is wrong with this choice, and what to write instead."""
        if [self.first is not None, bool(self.guids), self.sample is not None].count(True) != 1:
            raise RunnerError(
                "Choose the pilot's files one way: the first N files, a list of GUIDs, or a random sample of N."
            )
        size = len(self.guids) if self.guids else (self.first if self.first is not None else self.sample)
        if size < 1 or size > PILOT_MAX_FILES:
            raise RunnerError(
                f"A pilot takes between 1 and {PILOT_MAX_FILES:,} files, not {size:,}; "
                "to run more, start the whole batch."
            )
        malformed = []
        for guid in self.guids:
            try:
                validate_guid(guid)
            except ValidationError:
                malformed.append(guid)
        if malformed:
            raise RunnerError(
                f"Nothing was started: {few(malformed)} is not a GUID (letters, digits, '.', '_', ':' or '-', "
                "starting with a letter or digit). Correct the list and start again."
            )

    @property
    def description(self) -> str:
        if self.first:
            return f"the first {self.first} by GUID"
        if self.sample:
            return f"a random sample of {self.sample}, seed {self.seed}"
        return f"{len(self.guids)} listed GUID(s)"


@dataclass(frozen=True)
class StartFrom:
    """Where the files of one start take their MMIF from, instead of what the batch says: a blank MMIF of each
    media file (``blank``), each file's latest successful MMIF of ``pipeline`` in any batch, or the latest
    successful output of ``batch``. Exactly one."""

    blank: bool = False
    pipeline: Pipeline | None = None
    batch: Batch | None = None

    def check(self, starting: Batch) -> None:
        if [self.blank, self.pipeline is not None, self.batch is not None].count(True) != 1:
            raise RunnerError(
                "Choose one input for this start: a blank MMIF, a pipeline's latest MMIF, or a batch's output."
            )
        if self.batch is not None and self.batch.pk == starting.pk:
            raise RunnerError("A batch cannot start from its own output: choose another batch.")


def pipeline_snapshot(pipeline: Pipeline, overrides: dict[int, dict] | None = None) -> list[dict]:
    """The pipeline's steps and parameters as a run will keep them.

    ``overrides`` changes some parameters of some steps (by position) for this start only: each step's
    parameters are then the pipeline's with the overrides on top, checked against the app's metadata as
    the pipeline's own are; the snapshot keeps which names were overridden (``overrides``).
    Raises RunnerError if a step cannot run: no steps, an app disabled or without metadata, parameters
    the app does not accept, or an override for a step the pipeline does not have.
    """
    overrides = overrides or {}
    steps = list(pipeline.steps.select_related("app").order_by("position"))
    if not steps:
        raise RunnerError(f"Pipeline '{pipeline.name}' has no steps: add at least one app to it first.")
    positions = [step.position for step in steps]
    unknown = sorted(set(overrides) - set(positions))
    if unknown:
        raise RunnerError(
            f"Pipeline '{pipeline.name}' has no step {', '.join(map(str, unknown))}; its steps are "
            f"{', '.join(map(str, positions))}. Override the parameters of one of those."
        )
    problems, own = [], {}
    for step in steps:
        app, label = step.app, f"Step {step.position} ({step.app.name})"
        own[step.position] = step.parameters
        step.parameters = {**step.parameters, **overrides.get(step.position, {})}
        if not app.enabled:
            problems.append(f"{label}: the app is disabled; enable it or remove the step.")
        elif app.app_metadata is None:
            problems.append(f"{label}: Chowda has no metadata for the app; use “Refresh metadata” on it.")
        else:
            try:
                query_params(app.app_metadata, step.parameters)
            except InvalidParameters as exc:
                problems.append(f"{label}: {exc}")
    if problems:
        raise RunnerError(" ".join(problems))
    return [
        {
            "position": step.position,
            "app_id": step.app_id,
            "app_name": step.app.name,
            "endpoint": step.app.endpoint,
            "app_identifier": step.app.app_metadata.identifier,
            "parameters": step.parameters,
            **(
                {"overrides": overrides[step.position], "pipeline_parameters": own[step.position]}
                if overrides.get(step.position)
                else {}
            ),
        }
        for step in steps
    ]


def batch_start(
    batch: Batch,
    *,
    pilot: Pilot | None = None,
    overrides: dict[int, dict] | None = None,
    start_from: StartFrom | None = None,
) -> StartResult:
    """Start a run for every file of the batch that has no queued, running or succeeded run in it
    (with ``pilot``, only for the files it chooses among those; the others wait for a later start).

    ``overrides`` changes step parameters for the runs of this start only (see ``pipeline_snapshot``), and
    ``start_from`` where their MMIF comes from (else the batch's own inputs, input batch or input pipeline).

    Files whose last run failed or was cancelled start again from the first step.
    Each file starts from the batch's input for it when the batch has inputs (``BatchInput``: chosen
    runs' MMIF or uploads); else, with an input batch, from that batch's latest successful output; with an
    input pipeline, from its latest successful output of that pipeline in any batch; else from a blank MMIF.
    Files without an input are listed in ``without_input`` and not started.
    Raises RunnerError, creating nothing, when the batch cannot run.
    """
    with transaction.atomic():
        batch = (
            Batch.objects.select_for_update(of=("self",))
            .select_related("pipeline", "input_pipeline", "input_batch")
            .get(pk=batch.pk)
        )
        if batch.pipeline is None:
            raise RunnerError(f"Batch '{batch.name}' has no pipeline: choose one on the batch's page, then start it.")
        snapshot = pipeline_snapshot(batch.pipeline, overrides)
        result = StartResult(overridden=sorted(position for position, values in (overrides or {}).items() if values))
        candidates = files_to_start(batch)
        if pilot is not None:
            candidates, result.pilot, result.unstarted = _pilot_files(batch, candidates, pilot)
        rows = candidates.annotate(
            file_id=F("pk"),
            sort_key=F("guid"),
            previous_id=Subquery(_current_run(batch, "pk")),
            attempt_number=Coalesce(Subquery(_current_run(batch, "attempt")), 0) + 1,
        )
        if start_from is not None:
            start_from.check(batch)
        rows = _with_sources(batch, rows, result, start_from)

        # The database copies the rows (chowda_site/insert_select.py): at 100,000 files, preparing
        # each Run and StepRun in Python would take most of a minute.
        new_ids = insert_select(
            Run,
            rows.values("file_id", "sort_key", "previous_id", "attempt_number", "source", "origin"),
            {
                "media_file": "file_id",
                "retry_of": "previous_id",
                "attempt": "attempt_number",
                "source_mmif": "source",
                "input_origin": "origin",
            },
            constants={"batch": batch.pk, "pipeline_snapshot": snapshot, "next_app": snapshot[0]["app_id"]},
            order_by="sort_key",
            returning=True,
        )
        result.started = len(new_ids)
        result.already = batch.media_files.count() - result.started - len(result.without_input) - result.unstarted
        if new_ids:
            _unfinish(batch)
            new_runs = Run.objects.filter(batch=batch, pk__range=(new_ids[0], new_ids[-1]))
            Run.objects.filter(pk__in=new_runs.filter(retry_of__isnull=False).values("retry_of")).update(
                superseded=True
            )
            for s in snapshot:
                insert_select(
                    StepRun,
                    new_runs.annotate(run_key=F("pk")).values("run_key"),
                    {"run": "run_key"},
                    constants={
                        "position": s["position"],
                        "app": s["app_id"],
                        "app_name": s["app_name"],
                        "parameters": s["parameters"],
                    },
                )
            events.runs_changed(new_ids, batch_id=batch.pk)
            events.runs_pending()
            transaction.on_commit(lambda: setattr(result, "queue_down", not _send_first(batch)))
    return result


BLANK_ORIGIN = "a blank MMIF of the media file"


def _with_sources(batch: Batch, rows: QuerySet, result: StartResult, start_from: StartFrom | None) -> QuerySet:
    """Each file with the stored MMIF it starts from (``source``, "" for a blank one made when it runs) and
    where that came from (``origin``); files that should have an input and have none are left out and
    listed in ``result.without_input``. ``start_from``, when given, decides instead of the batch."""
    if start_from is None:
        if BatchInput.objects.filter(batch=batch).exists():
            chosen = BatchInput.objects.filter(batch=batch, media_file=OuterRef("pk")).order_by()
            rows = rows.annotate(
                source=Subquery(chosen.values("mmif")[:1]), origin=Subquery(chosen.values("origin")[:1])
            )
            result.input_from = "among the batch's chosen or uploaded MMIF"
            return _only_with_input(rows, result)
        start_from = StartFrom(batch=batch.input_batch, pipeline=batch.input_pipeline)
    if start_from.batch is not None:
        latest = _latest_output(Run.objects.current().filter(batch_id=start_from.batch.pk))
        rows = rows.annotate(source=Subquery(latest), origin=Value(f"the output of batch '{start_from.batch.name}'"))
        result.input_from = f"in batch '{start_from.batch.name}'"
    elif start_from.pipeline is not None:
        latest = _latest_output(Run.objects.filter(batch__pipeline_id=start_from.pipeline.pk))
        rows = rows.annotate(
            source=Subquery(latest), origin=Value(f"the latest MMIF of pipeline '{start_from.pipeline.name}'")
        )
        result.input_from = f"of pipeline '{start_from.pipeline.name}'"
    else:
        return rows.annotate(source=Value(""), origin=Value(BLANK_ORIGIN))
    return _only_with_input(rows, result)


def _only_with_input(rows: QuerySet, result: StartResult) -> QuerySet:
    result.without_input = list(rows.filter(source__isnull=True).order_by("guid").values_list("guid", flat=True))
    return rows.filter(source__isnull=False)


def _pilot_files(batch: Batch, candidates: QuerySet, pilot: Pilot) -> tuple[QuerySet, str, int]:
    """The pilot's files among the files still to run, how to say which they are, and how many others wait.

    Raises RunnerError, starting nothing, naming listed GUIDs that are not in the batch.
    """
    pilot.check()
    waiting = list(candidates.order_by("guid").values_list("pk", "guid"))
    if pilot.guids:
        listed = set(pilot.guids)
        unknown = sorted(listed - set(batch.media_files.filter(guid__in=listed).values_list("guid", flat=True)))
        if unknown:
            raise RunnerError(
                f"Nothing was started: batch '{batch.name}' has no file {few(unknown)}. "
                "Add those files to the batch, or leave them out of the pilot."
            )
        chosen = [pk for pk, guid in waiting if guid in listed]
    elif pilot.first:
        chosen = [pk for pk, _ in waiting[: pilot.first]]
    else:
        chosen = [pk for pk, _ in random.Random(pilot.seed).sample(waiting, min(pilot.sample, len(waiting)))]
    return candidates.filter(pk__in=chosen), pilot.description, len(waiting) - len(chosen)


def _current_run(batch: Batch, column: str) -> QuerySet:
    """A column of the file's current run in ``batch`` (failed or cancelled: the new run replaces it)."""
    return Run.objects.current().filter(batch=batch, media_file=OuterRef("pk")).order_by().values(column)[:1]


def _latest_output(runs: QuerySet) -> QuerySet:
    """The file's latest successful output among ``runs``."""
    return (
        runs.filter(media_file=OuterRef("pk"), status=Status.SUCCEEDED)
        .exclude(final_mmif="")
        .order_by("-finished_at")
        .values("final_mmif")[:1]
    )


def _send_first(batch: Batch) -> bool:
    """Send the batch's first window now rather than at the next dispatcher round; False if Redis is down.

    Called after commit, so that no worker is sent a run it cannot read yet.
    """
    try:
        send_pending()
    except QueueUnavailable:
        return False
    return True


def runs_cancel(runs, *, reason: str = "The run was cancelled.") -> RunsChanged:
    """Cancel the pending, queued and running runs among ``runs``.

    Their queued steps become skipped and never start; a step already talking to its
    app may finish, but its result does not advance the run.
    """
    cancelled = _cancel(runs, reason)
    if not cancelled:
        return RunsChanged(0, "None of these runs is waiting or running: nothing was cancelled.")
    return RunsChanged(cancelled, f"Cancelled {cancelled} run(s).")


def _cancel(runs, reason: str, batch_id: int | None = None) -> int:
    now = timezone.now()
    with transaction.atomic():
        active = runs.filter(status__in=ACTIVE_STATUSES)
        batch_ids = (
            [batch_id]
            if batch_id is not None
            else list(active.order_by().values_list("batch_id", flat=True).distinct())
        )
        # Pending runs were never sent: no message has to be taken back. The few sent ones find out themselves,
        # before their next step calls its app. Steps before runs, the order in which a step task locks them, so
        # the two never deadlock on PostgreSQL. A whole batch goes in two statements, not two per 500 runs.
        few = (
            batch_id is None or active.order_by()[: events.RUN_EVENTS_AT_ONCE + 1].count() <= events.RUN_EVENTS_AT_ONCE
        )
        ids = list(active.values_list("pk", flat=True)) if few else []
        cancelled = 0
        for chunk in chunks(ids) if few else [None]:
            chosen = Run.objects.filter(pk__in=chunk) if few else active
            StepRun.objects.filter(run__in=chosen.values("pk"), status=Status.QUEUED).update(status=Status.SKIPPED)
            cancelled += chosen.filter(status__in=ACTIVE_STATUSES).update(
                status=Status.CANCELLED, finished_at=now, error=reason
            )
        if few:
            events.runs_changed(ids, batch_id=batch_id)
        elif cancelled:
            events.batch_changed(batch_id)
        if cancelled:
            # A batch whose last runs were cancelled is finished too: whoever listens may notify.
            for finished_batch in batch_ids:
                transaction.on_commit(
                    lambda finished_batch=finished_batch: run_finished.send(sender=Run, batch_id=finished_batch)
                )
    return cancelled


def batch_cancel(batch: Batch) -> RunsChanged:
    """Cancel every pending, queued or running run of the batch."""
    cancelled = _cancel(runs_to_cancel(batch), f"Batch '{batch.name}' was cancelled.", batch.pk)
    if not cancelled:
        return RunsChanged(0, "No run of the batch is waiting or running: nothing was cancelled.")
    return RunsChanged(cancelled, f"Cancelled {cancelled} run(s).")


def run_cancel(run: Run) -> RunsChanged:
    """Cancel one run if it is queued or running."""
    if _cancel(Run.objects.filter(pk=run.pk), "The run was cancelled."):
        return RunsChanged(1, "The run was cancelled.")
    run.refresh_from_db(fields=["status"])
    return RunsChanged(
        0,
        f"This run has already finished ({run.get_status_display().lower()}); "
        "only waiting or running runs can be cancelled.",
    )


@dataclass
class RetryPlan:
    """What a retry of a batch's failed and cancelled runs takes from now rather than from their first attempt.

    Steps that succeeded are kept with their output. The step that failed and every later one take the
    parameters that the batch's pipeline has now for the same app at the same position (with the run's
    pilot overrides on top); a run that had no step succeed, and started from a blank MMIF, starts from a new
    one of its media file, at the file's location now. ``changes`` says what differs, in sentences.
    """

    runs: list[Run]
    steps: dict[int, list[StepRun]]
    current: dict[int, dict]
    changes: list[str] = field(default_factory=list)
    fresh_sources: int = 0

    @property
    def sentence(self) -> str:
        """What the confirmation shows, and the retry's answer repeats."""
        said = []
        if self.changes:
            said.append(
                "Parameters changed since the first attempt, and the retry takes them: " + "; ".join(self.changes) + "."
            )
        if self.fresh_sources:
            said.append(
                f"{self.fresh_sources} run(s) failed before any step succeeded: they start from the media file "
                "as it is now (its location included)."
            )
        return " ".join(said)

    def parameters(self, run: Run, step: StepRun) -> tuple[dict, dict | None]:
        """The parameters the step runs with on retry, and the run's new snapshot entry for it (None: unchanged)."""
        entry = self.current.get(step.position)
        if entry is None or entry["app_id"] != step.app_id:
            return step.parameters, None
        old = next((s for s in run.pipeline_snapshot if s.get("position") == step.position), {})
        overrides = old.get("overrides") or {}
        parameters = {**entry["parameters"], **overrides}
        extra = {"overrides": overrides, "pipeline_parameters": entry["parameters"]} if overrides else {}
        return parameters, {**entry, "parameters": parameters, **extra}


def retry_plan(batch: Batch) -> RetryPlan:
    """What retrying the batch's failed and cancelled runs would do (see RetryPlan); changes nothing.

    Raises RunnerError when the batch's pipeline cannot run now (as a start would).
    """
    runs = list(runs_to_retry(batch))
    steps: dict[int, list[StepRun]] = {}
    for chunk in chunks([run.pk for run in runs]):
        for step in StepRun.objects.filter(run_id__in=chunk).order_by("position"):
            steps.setdefault(step.run_id, []).append(step)
    current = {}
    if batch.pipeline_id is not None and runs:
        current = {entry["position"]: entry for entry in pipeline_snapshot(batch.pipeline)}
    plan = RetryPlan(runs, steps, current)
    changed: dict[str, None] = {}
    for run in runs:
        todo = _steps_to_run(steps.get(run.pk, []))
        if _fresh_source(run, steps.get(run.pk, []), todo):
            plan.fresh_sources += 1
        for step in todo:
            parameters, _entry = plan.parameters(run, step)
            for name in sorted(set(parameters) | set(step.parameters)):
                before, after = step.parameters.get(name), parameters.get(name)
                if before != after:
                    changed[f"step {step.position} ({step.app_name}): {name} {_shown(before)} → {_shown(after)}"] = None
    plan.changes = list(changed)
    return plan


def _shown(value) -> str:
    return "(not set)" if value is None else repr(value)


def _fresh_source(run: Run, steps: list[StepRun], todo: list[StepRun]) -> bool:
    """A run that kept no step and started from a blank MMIF gets a new one, made from the media file as it is now."""
    return len(todo) == len(steps) and run.input_origin == BLANK_ORIGIN


def _steps_to_run(steps: list[StepRun]) -> list[StepRun]:
    """The steps a retry runs again: from the first that did not succeed on."""
    for number, step in enumerate(steps):
        if step.status != Status.SUCCEEDED or not step.output_mmif:
            return steps[number:]
    return []


def batch_retry_failed(batch: Batch) -> RunsChanged:
    """Give every failed or cancelled run of the batch a new attempt that resumes where it stopped.

    Steps that succeeded are copied with their stored output (their apps are not called again); the chain
    starts at the first step that did not succeed, with what the batch's pipeline and media file say now
    (``RetryPlan``). Raises RunnerError, changing nothing, when the pipeline cannot run now.
    """
    with transaction.atomic():
        batch = Batch.objects.select_for_update(of=("self",)).select_related("pipeline").get(pk=batch.pk)
        try:
            plan = retry_plan(batch)
        except RunnerError as exc:
            raise RunnerError(f"Nothing was retried: {exc}") from None
        old_ids = [run.pk for run in plan.runs]
        retried = [_retry(run, plan) for run in plan.runs]
        for chunk in chunks(old_ids):
            Run.objects.filter(pk__in=chunk).update(superseded=True)
        events.runs_changed((new.pk for new in retried), batch_id=batch.pk)
        events.runs_pending()
        sent = []
        if plan.runs:
            _unfinish(batch)
            transaction.on_commit(lambda: sent.append(_send_first(batch)))
    if not plan.runs:
        return RunsChanged(0, "No run of the batch failed or was cancelled: nothing was retried.")
    said = f"Retried {len(plan.runs)} failed or cancelled run(s)."
    if plan.sentence:
        said += " " + plan.sentence
    if sent == [False]:
        said += " They wait for the queue (Redis cannot be reached now) and start as soon as it is back."
    return RunsChanged(len(plan.runs), said)


def _unfinish(batch: Batch) -> None:
    """A batch given new runs is unfinished again: it tells its creator (and webhook) again when they end,
    and again if their failures pass its limit, instead of staying silent after the first time."""
    Batch.objects.filter(pk=batch.pk).update(finished_notified_at=None, failures_notified_at=None)


def _retry(old: Run, plan: RetryPlan) -> Run:
    """A new pending attempt of ``old`` that keeps its succeeded steps; the dispatcher starts it after them."""
    old_steps = plan.steps.get(old.pk, [])
    again = _steps_to_run(old_steps)
    snapshot = {entry.get("position"): entry for entry in old.pipeline_snapshot}
    todo = []
    for step in again:
        parameters, entry = plan.parameters(old, step)
        if entry is not None:
            snapshot[step.position] = entry
        todo.append(StepRun(position=step.position, app_id=step.app_id, app_name=step.app_name, parameters=parameters))
    fresh = _fresh_source(old, old_steps, again)
    new = Run.objects.create(
        batch_id=old.batch_id,
        media_file_id=old.media_file_id,
        attempt=old.attempt + 1,
        retry_of=old,
        pipeline_snapshot=[snapshot[position] for position in sorted(snapshot)],
        source_mmif="" if fresh else old.source_mmif,
        input_origin=old.input_origin,
        next_app_id=todo[0].app_id if todo else None,
    )
    kept, input_name = [], None
    for step in old_steps[: len(old_steps) - len(again)]:
        kept.append(_copy_succeeded(step, new))
        input_name = step.output_mmif.name
    for step in todo:
        step.run = new
    StepRun.objects.bulk_create([*kept, *todo])
    if not todo:  # every step had succeeded; the run was cancelled as its last step finished
        now = timezone.now()
        Run.objects.filter(pk=new.pk).update(
            status=Status.SUCCEEDED, final_mmif=input_name, started_at=now, finished_at=now
        )
    elif kept:
        Run.objects.filter(pk=new.pk).update(started_at=timezone.now())
    return new


def _copy_succeeded(step: StepRun, run: Run) -> StepRun:
    copied = [
        "position",
        "app_id",
        "app_name",
        "parameters",
        "status",
        "attempts",
        "started_at",
        "finished_at",
        "duration",
        "http_status",
        "input_mmif",
        "output_mmif",
        "summary",
    ]
    return StepRun(run=run, **{name: getattr(step, name) for name in copied})
