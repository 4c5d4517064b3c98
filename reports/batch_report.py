"""The batch report: one row per media file of a batch, with its latest run and each step's figures.

Rows are read a page at a time by keyset (media file id), three queries a page whatever the page:
the files, their latest runs, those runs' steps. So a CSV of 100,000 files streams in constant
memory and a constant number of queries per page; nothing reads a MMIF file (the counts come from
the summary each step stored when the app answered).
"""

from collections.abc import AsyncIterator, Iterator

from asgiref.sync import sync_to_async
from django.http import StreamingHttpResponse

from batches.models import Batch
from chowda_site import spreadsheets
from runs.models import Run, StepRun

PAGE_SIZE = 1000


def _iso(moment) -> str | None:
    return moment.isoformat() if moment else None


def report_columns(batch: Batch) -> list[dict]:
    """The steps of the batch's pipeline (as its latest run took them, else as the pipeline is now)."""
    snapshot = Run.objects.filter(batch=batch).order_by("-pk").values_list("pipeline_snapshot", flat=True).first()
    if snapshot:
        return [{"position": s["position"], "app": s["app_name"]} for s in snapshot]
    if batch.pipeline_id:
        steps = batch.pipeline.steps.select_related("app").order_by("position")
        return [{"position": s.position, "app": s.app.name} for s in steps]
    return []


def step_row(step: StepRun) -> dict:
    views = [
        {"id": view.get("id"), "app": view.get("app", ""), "annotations": view.get("annotations", {})}
        for view in (step.summary or {}).get("views", [])
    ]
    return {
        "position": step.position,
        "app": step.app_name,
        "app_version": step.app_version,
        "status": step.status,
        "attempts": step.attempts,
        "duration": step.duration,
        "error": step.error_message,
        "views": views,
    }


def report_page(batch: Batch, *, after: int = 0, size: int = PAGE_SIZE) -> tuple[list[dict], int | None]:
    """Up to ``size`` rows of files whose id is above ``after``; and the ``after`` of the next page (None: last)."""
    through = Batch.media_files.through
    files = list(
        through.objects.filter(batch=batch, mediafile_id__gt=after)
        .order_by("mediafile_id")
        .values_list("mediafile_id", "mediafile__guid")[: size + 1]
    )
    more = len(files) > size
    files = files[:size]
    ids = [file_id for file_id, _guid in files]
    runs: dict[int, Run] = {}
    if ids:
        # The latest attempt of each file: the highest id among its current runs.
        for run in (
            Run.objects.current()
            .filter(batch=batch, media_file_id__in=ids)
            .order_by("pk")
            .only("pk", "media_file_id", "status", "attempt", "error", "started_at", "finished_at")
        ):
            runs[run.media_file_id] = run
    steps: dict[int, list[dict]] = {}
    if runs:
        fields = ["run_id", "position", "app_name", "app_version", "status", "attempts", "duration"]
        for step in (
            StepRun.objects.filter(run_id__in=[r.pk for r in runs.values()])
            .order_by("run_id", "position")
            .only(*fields, "error_message", "summary")
        ):
            steps.setdefault(step.run_id, []).append(step_row(step))
    rows = []
    for file_id, guid in files:
        run = runs.get(file_id)
        rows.append(
            {
                "media_file": file_id,
                "guid": guid,
                "run": run.pk if run else None,
                "status": run.status if run else "not started",
                "attempt": run.attempt if run else None,
                "started_at": _iso(run.started_at) if run else None,
                "finished_at": _iso(run.finished_at) if run else None,
                "duration": (run.finished_at - run.started_at).total_seconds()
                if run and run.started_at and run.finished_at
                else None,
                "error": run.error if run else "",
                "steps": steps.get(run.pk, []) if run else [],
            }
        )
    return rows, (ids[-1] if more else None)


def _counts_text(views: list[dict]) -> str:
    """``v_1: 3 TimeFrame, 1 Alignment; v_2: 2 TextDocument`` (views without annotations say so)."""
    parts = []
    for view in views:
        counts = ", ".join(f"{n} {kind}" for kind, n in sorted(view["annotations"].items())) or "no annotations"
        parts.append(f"{view['id']}: {counts}")
    return "; ".join(parts)


def csv_header(columns: list[dict]) -> list[str]:
    header = ["guid", "status", "attempt", "started_at", "finished_at", "duration_seconds", "error"]
    for column in columns:
        prefix = f"step {column['position']} {column['app']}"
        header += [f"{prefix}: status", f"{prefix}: seconds", f"{prefix}: annotations per view"]
    return header


def csv_record(row: dict, columns: list[dict]) -> list:
    record = [
        row["guid"],
        row["status"],
        row["attempt"] or "",
        row["started_at"] or "",
        row["finished_at"] or "",
        "" if row["duration"] is None else f"{row['duration']:.3f}",
        row["error"],
    ]
    by_position = {step["position"]: step for step in row["steps"]}
    for column in columns:
        step = by_position.get(column["position"])
        if step is None:
            record += ["", "", ""]
        else:
            seconds = "" if step["duration"] is None else f"{step['duration']:.3f}"
            record += [step["status"], seconds, _counts_text(step["views"])]
    return record


class _Lines:
    """A file-like object that csv.writer writes into, and that hands out what it wrote."""

    def __init__(self):
        self.parts: list[str] = []

    def write(self, value: str) -> None:
        self.parts.append(value)

    def take(self) -> str:
        text = "".join(self.parts)
        self.parts.clear()
        return text


def _header_text(columns: list[dict]) -> str:
    lines = _Lines()
    spreadsheets.writer(lines).writerow(csv_header(columns))
    return lines.take()


def _page_text(batch: Batch, columns: list[dict], after: int, size: int) -> tuple[str, int | None]:
    """One page of the CSV as text (three queries), and the ``after`` of the next page."""
    rows, next_after = report_page(batch, after=after, size=size)
    lines = _Lines()
    writer = spreadsheets.writer(lines)
    for row in rows:
        writer.writerow(csv_record(row, columns))
    return lines.take(), next_after


def csv_chunks(batch: Batch, *, page_size: int | None = None) -> Iterator[str]:
    """The CSV a page of rows at a time."""
    columns = report_columns(batch)
    yield _header_text(columns)
    after = 0
    while after is not None:
        text, after = _page_text(batch, columns, after, page_size or PAGE_SIZE)
        yield text


async def csv_chunks_async(batch: Batch) -> AsyncIterator[str]:
    """The same, for an ASGI server: each page is read in a thread, and sent before the next is read.

    (Given a plain iterator, Django's ASGI handler would read the whole report into memory first.)
    """
    columns = await sync_to_async(report_columns)(batch)
    yield _header_text(columns)
    after = 0
    while after is not None:
        text, after = await sync_to_async(_page_text)(batch, columns, after, PAGE_SIZE)
        yield text


def csv_response(batch: Batch, *, asynchronous: bool = False) -> StreamingHttpResponse:
    """The report as a CSV download, streamed a page at a time (``asynchronous``: served over ASGI)."""
    chunks = csv_chunks_async(batch) if asynchronous else csv_chunks(batch)
    response = StreamingHttpResponse(chunks, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="batch-{batch.pk}-report.csv"'
    return response
