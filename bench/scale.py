"""Chowda at an archive's scale: starting, cancelling and showing batches of 10,000 and 100,000 files,
the broker's memory during a huge batch, and recovery from a killed worker with the default settings.

    make bench                       # or: .venv/bin/python bench/scale.py [--huge 100000]

Like bench/overhead.py, every party runs in its own process (a no-op CLAMS app, a Celery worker
with its dispatcher, Redis), on a temporary SQLite database unless CHOWDA_DATABASE_URL is set.
The start and cancel figures are the services the admin action, the API and the commands call.
It is a benchmark, not a test: it prints each figure against its target and exits 0 whether or not
the targets are met, and 1 only if something breaks.
"""

import argparse
import json
import os
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from overhead import BenchError, Processes, configure_env, start_app, start_worker

TARGETS = {
    "import 10,000 GUIDs (thumbnails recorded)": 1.5,
    "import 100,000 GUIDs (thumbnails recorded)": 10.0,
    "6 files started after it: first step sent": 2.0,
    "start 10,000 files: the call returns": 1.0,
    "start 10,000 files: the first file is running": 2.0,
    "start 100,000 files: the call returns": 5.0,
    "cancel 10,000 pending runs": 1.0,
    "recovery after a worker's SIGKILL": 60.0,
    "cancel 100,000 files": 2.0,
    "live batch page": 0.5,
    "batch page at 100,000 files": 0.3,
}


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--huge", type=int, default=100_000, help="files of the huge batch (default 100,000)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    parser.add_argument("--json", metavar="FILE", help="also write the figures to FILE (bench/summary.py reads it)")
    return parser.parse_args()


def wait(condition, timeout: float, what: str) -> float:
    started = time.perf_counter()
    while not condition():
        if time.perf_counter() - started > timeout:
            raise BenchError(f"{what} did not happen within {timeout:g} seconds.")
        time.sleep(0.02)
    return time.perf_counter() - started


def make_batch(pipeline, name: str, files: int):
    from batches.models import Batch, DocumentType, MediaFile

    media = MediaFile.objects.bulk_create(
        (
            MediaFile(
                guid=f"{name}-{n:06d}",
                location=f"file:///bench/{name}-{n}.mp4",
                mime_type="video/mp4",
                document_type=DocumentType.VIDEO,
            )
            for n in range(files)
        ),
        batch_size=5000,
    )
    batch = Batch.objects.create(name=name, pipeline=pipeline)
    through = Batch.media_files.through
    through.objects.bulk_create((through(batch_id=batch.pk, mediafile_id=m.pk) for m in media), batch_size=5000)
    return batch


def imported(prefix: str, files: int):
    """Import this many new GUIDs as a curator's CSV upload or `manage.py import_media` does (the same service)."""
    from batches.importer import parse_rows
    from batches.services import media_import

    text = "guid,location,mime\n" + "".join(
        f"{prefix}-{n:06d},file:///bench/{prefix}-{n}.mp4,video/mp4\n" for n in range(files)
    )
    result = media_import(parse_rows(text, as_csv=True))
    if result.created != files:
        raise BenchError(f"The import created {result.created} of {files} files: {result.sentence}")
    return result


def pipeline_of(endpoint: str, name: str, max_concurrency: int):
    from clams_apps.services import app_register
    from pipelines.models import Pipeline, PipelineStep

    app = app_register(endpoint, name=name, max_concurrency=max_concurrency, timeout=600)
    pipeline = Pipeline.objects.create(name=name)
    PipelineStep.objects.create(pipeline=pipeline, position=1, app=app, parameters={})
    return pipeline


def timed(action):
    started = time.perf_counter()
    result = action()
    return time.perf_counter() - started, result


def redis_memory() -> int:
    from chowda_site.redis_client import redis_client

    return int(redis_client().info("memory")["used_memory"])


def page_times(batch) -> dict[str, float]:
    from django.contrib.auth import get_user_model
    from django.test import Client
    from django.urls import reverse

    user, _ = get_user_model().objects.get_or_create(username="bench-admin", defaults={"is_superuser": True})
    user.is_superuser = user.is_staff = True
    user.save()
    client = Client(HTTP_HOST="localhost")
    client.force_login(user)
    pages = {
        "batch page at 100,000 files": reverse("admin:batches_batch_change", args=[batch.pk]),
        "live batch page": reverse("runs:batch_live", args=[batch.pk]),
        "admin batch list": reverse("admin:batches_batch_changelist"),
        "admin run list of the batch": reverse("admin:runs_run_changelist") + f"?batch__id__exact={batch.pk}",
        "API runs of the batch": f"/api/runs/?batch={batch.pk}",
        "API batches": "/api/batches/",
    }
    times = {}
    for label, url in pages.items():
        client.get(url)  # warm
        elapsed, response = timed(lambda url=url: client.get(url))
        if response.status_code != 200:
            raise BenchError(f"{url} answered {response.status_code}.")
        times[label] = elapsed
    url = reverse("reports:batch_report_csv", args=[batch.pk])
    elapsed, lines = timed(lambda: sum(chunk.count(b"\n") for chunk in client.get(url).streaming_content))
    if lines != batch.media_files.count() + 1:
        raise BenchError(f"The batch report has {lines} lines for {batch.media_files.count()} files.")
    times["batch report CSV, streamed whole"] = elapsed
    return times


def recovery(env, endpoint: str, processes: Processes, tmp: Path) -> float:
    """Seconds from a new worker's start to the steps a SIGKILLed worker had at its app running again."""
    from runs.models import Status, StepRun
    from runs.services import batch_start

    batch = make_batch(pipeline_of(endpoint, "bench-slow", 4), "recovery", 8)
    doomed = start_worker(env, 4, processes, tmp / "doomed.log")
    batch_start(batch)
    running = StepRun.objects.filter(run__batch=batch, status=Status.RUNNING)
    wait(lambda: running.count() >= 2, 60, "two steps at the slow app")
    interrupted = list(running.values_list("pk", flat=True))
    os.kill(doomed.pid, signal.SIGKILL)
    doomed.wait()
    start_worker(env, 4, processes, tmp / "next.log")
    again = StepRun.objects.filter(pk__in=interrupted, interruptions__gte=1, attempts__gte=2)
    return wait(lambda: again.count() == len(interrupted), 180, "the interrupted steps to run again")


def main() -> int:
    args = parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="chowda-scale-"))
    processes = Processes()
    try:
        env = configure_env(tmp, processes)
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0, interactive=False)
        from runs.models import Run, Status
        from runs.services import batch_cancel, batch_start

        quick = start_app(5, processes, tmp / "quick.log")
        slow = start_app(5000, processes, tmp / "slow.log")
        worker = start_worker(env, 8, processes, tmp / "worker.log")
        pipeline = pipeline_of(quick, "bench-quick", 8)
        figures: dict[str, float] = {}

        print("[scale] start and cancel 10,000 files ...", flush=True)
        ten = make_batch(pipeline, "ten-thousand", 10_000)
        figures["start 10,000 files: the call returns"], _ = timed(lambda: batch_start(ten))
        started = time.perf_counter() - figures["start 10,000 files: the call returns"]
        active = Run.objects.filter(batch=ten, status__in=[Status.RUNNING, Status.SUCCEEDED])
        wait(active.exists, 30, "the first file to run")
        figures["start 10,000 files: the first file is running"] = time.perf_counter() - started
        figures["cancel 10,000 pending runs"], _ = timed(lambda: batch_cancel(ten))

        print(f"[scale] start {args.huge:,} files ...", flush=True)
        huge = make_batch(pipeline, "huge", args.huge)
        memory_before = redis_memory()
        figures["start 100,000 files: the call returns"], _ = timed(lambda: batch_start(huge))
        time.sleep(10)
        memory_during = redis_memory()
        times = page_times(huge)
        figures.update(times)
        figures["cancel 100,000 files"], _ = timed(lambda: batch_cancel(huge))

        # Last: the thumbnails of 110,000 files follow in the background and keep the worker busy from here on.
        print("[scale] import 10,000 and 100,000 GUIDs, then start 6 files ...", flush=True)
        from background.models import BackgroundJob
        from batches.models import Batch, MediaFile

        figures["import 10,000 GUIDs (thumbnails recorded)"], _ = timed(lambda: imported("import-ten", 10_000))
        figures["import 100,000 GUIDs (thumbnails recorded)"], _ = timed(lambda: imported("import-huge", args.huge))
        if BackgroundJob.objects.filter(kind="thumbnail").count() < 10_000 + args.huge:
            raise BenchError("The imports did not record a thumbnail job per file.")
        six = Batch.objects.create(name="six after the import", pipeline=pipeline)
        six.media_files.set(MediaFile.objects.filter(guid__startswith="import-ten-")[:6])
        sent = Run.objects.filter(batch=six, status__in=[Status.QUEUED, Status.RUNNING, Status.SUCCEEDED])
        started = time.perf_counter()
        batch_start(six)
        wait(sent.exists, 30, "the six files' first step")
        figures["6 files started after it: first step sent"] = time.perf_counter() - started
        wait(lambda: not Run.objects.filter(batch=six).exclude(status=Status.SUCCEEDED).exists(), 60, "the six files")

        print("[scale] recovery after SIGKILL, default heartbeat and dispatcher settings ...", flush=True)
        processes.stop(worker)  # so that the steps at the slow app are the doomed worker's
        figures["recovery after a worker's SIGKILL"] = recovery(env, slow, processes, tmp)

        print()
        print(f"{'figure':<48} {'seconds':>9} {'target':>8}")
        for label, seconds in figures.items():
            target = TARGETS.get(label)
            verdict = "" if target is None else ("  met" if seconds <= target else "  MISSED")
            shown = f"≤ {target:g}" if target is not None else ""
            print(f"{label:<48} {seconds:>9.3f} {shown:>8}{verdict}")
        print(
            f"Redis used_memory: {memory_before / 1e6:.1f} MB before the {args.huge:,}-file batch, "
            f"{memory_during / 1e6:.1f} MB ten seconds into it (the broker holds only the dispatch window)"
        )
        if args.json:
            Path(args.json).write_text(json.dumps(figures))
        return 0
    except BenchError as exc:
        print(f"[scale] failed: {exc}", file=sys.stderr)
        return 1
    finally:
        processes.stop_all()
        if args.keep:
            print(f"[scale] kept {tmp}", file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
