"""How much time Chowda adds around each app call, and how much faster than a plain loop it gets through a batch.

    make bench                       # or: .venv/bin/python bench/overhead.py --files 60 --work-ms 50

It pushes N files through a 3-step pipeline of a no-op CLAMS app (bench/noop_app.py)
with a real Celery worker, and, against the same app in the same run, times the way
simple runner scripts do it: a sequential loop of ``requests.post`` calls (POST the
source MMIF, save the answer to a file, POST that file, three times per file).

Every party runs in its own process, so the GIL does not distort the figures: the
app (werkzeug, threaded), the Celery worker (thread pool; started afresh for each
concurrency) and Redis (embedded, unless CHOWDA_REDIS_URL is set). The database is a
SQLite file in a temporary directory unless CHOWDA_DATABASE_URL is set (for example
PostgreSQL; the benchmark then adds its own uniquely named rows and deletes nothing).

Figures:
- per-step orchestration overhead at worker concurrency 1: the worker handles one task
  at a time, so consecutive StepRun.finished_at of the batch (the first from the start)
  are each one step's full handling; minus the median time of one POST in the loop;
- total time of Chowda at concurrency 1 over the loop's;
- throughput of Chowda at the parallel concurrency (default 8) over the loop's.

It is a benchmark, not a test: it exits 0 whether or not the targets are met, and 1
only if something breaks (a run fails, a process does not come up, ...).
"""

import argparse
import json
import os
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# The step worker's targets (docs/operating.md, "Performance").
TARGET_OVERHEAD_MS = 5.0
TARGET_RATIO_C1 = 1.08
TARGET_THROUGHPUT = 6.0
STEPS = 3
WARMUP_FILES = 8  # one per thread of the concurrency-8 worker, so none is measured cold
POLL_SECONDS = 0.02


class BenchError(RuntimeError):
    """Something broke: the benchmark cannot give figures."""


@dataclass
class Processes:
    """Every subprocess the benchmark started, so that all are stopped whatever happens."""

    running: list[tuple[str, subprocess.Popen]] = field(default_factory=list)

    def add(self, name: str, process: subprocess.Popen) -> subprocess.Popen:
        self.running.append((name, process))
        return process

    def stop(self, process: subprocess.Popen, timeout: float = 30) -> None:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.running = [(n, p) for n, p in self.running if p is not process]

    def stop_all(self) -> None:
        for _name, process in reversed(list(self.running)):
            self.stop(process)


def cpu_seconds(pid: int | None = None) -> float | None:
    """User + system CPU seconds a process has used so far (Linux /proc); None where that is unknown."""
    if pid is None:
        times = os.times()
        return times.user + times.system
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def cpu_snapshot(processes: "Processes") -> dict[str, float | None]:
    snapshot = {name: cpu_seconds(p.pid) for name, p in processes.running}
    snapshot["bench"] = cpu_seconds()
    return snapshot


def cpu_used(before: dict, after: dict) -> dict[str, float]:
    used = {}
    for name, value in after.items():
        if value is not None and before.get(name) is not None:
            used[name.split("-")[0]] = value - before[name]
    return used


def percentile(values: list[float], q: float) -> float:
    """Linear-interpolated percentile (q in 0..100)."""
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    k = (len(ordered) - 1) * q / 100
    low = int(k)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (k - low)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=120, help="files per measurement (default 120)")
    parser.add_argument("--work-ms", type=float, default=50.0, help="the no-op app's sleep per request (default 50)")
    parser.add_argument(
        "--concurrency", type=int, default=8, help="worker concurrency of the parallel measurement (default 8)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (database, MMIF, logs)")
    parser.add_argument("--json", metavar="FILE", help="also write the figures to FILE (bench/summary.py reads it)")
    parser.add_argument(
        "--profile",
        metavar="DIR",
        help="sample the concurrency-1 worker with py-spy; write DIR/worker.svg (a flame graph) and "
        "DIR/worker.txt (where the worker's CPU goes, by function)",
    )
    return parser.parse_args()


def configure_env(tmp: Path, processes: Processes) -> dict[str, str]:
    """Set the CHOWDA_* environment for this process (before django.setup()) and return it for the worker."""
    env = dict(os.environ)
    env["DJANGO_SETTINGS_MODULE"] = "chowda_site.settings"
    env["CHOWDA_SECRET_KEY"] = "bench-only-" + secrets.token_urlsafe(32)  # pragma: allowlist secret
    env["CHOWDA_DEBUG"] = "false"
    env["CHOWDA_LOG_LEVEL"] = "WARNING"
    env["CHOWDA_MEDIA_ROOT"] = str(tmp / "media")
    # Slot keys of this run only, in case the Redis is shared.
    env["CHOWDA_REDIS_KEY_PREFIX"] = f"chowda-bench-{uuid.uuid4().hex[:8]}"
    if not env.get("CHOWDA_DATABASE_URL"):
        env["CHOWDA_DATABASE_URL"] = f"sqlite:///{tmp / 'bench.sqlite3'}"
    if not env.get("CHOWDA_REDIS_URL"):
        from chowda_site.redis_server import free_port, start_redis

        port = free_port()
        processes.add("redis", start_redis(port, tmp / "redis", durable=False))
        env["CHOWDA_REDIS_URL"] = f"redis://127.0.0.1:{port}/0"
    os.environ.update(env)
    return env


def start_app(work_ms: float, processes: Processes, log: Path) -> str:
    command = [sys.executable, str(ROOT / "bench" / "noop_app.py"), "--port", "0", "--work-ms", str(work_ms)]
    process = processes.add(
        "app",
        subprocess.Popen(command, stdout=subprocess.PIPE, stderr=log.open("w"), text=True, cwd=ROOT),
    )
    line = process.stdout.readline()  # blocks until it listens, or returns "" if it died
    if not line.startswith("listening on "):
        raise BenchError(f"The no-op app did not start; see {log}:\n{log.read_text()[-2000:]}")
    return line.split("listening on ", 1)[1].strip()


def start_worker(env: dict, concurrency: int, processes: Processes, log: Path) -> subprocess.Popen:
    celery = str(Path(sys.executable).parent / "celery")
    command = [
        celery, "-A", "chowda_site", "worker", "--pool", "threads",
        "--concurrency", str(concurrency), "--loglevel", "WARNING", "--without-heartbeat",
        "--without-gossip", "--without-mingle", "-n", f"bench-{uuid.uuid4().hex[:6]}@%h",
    ]  # fmt: skip
    return processes.add(
        f"worker-{concurrency}",
        subprocess.Popen(command, env=env, cwd=ROOT, stdout=log.open("a"), stderr=subprocess.STDOUT),
    )


@dataclass
class Setup:
    pipeline: object
    warmup_files: list
    files: list
    tag: str


def prepare(endpoint: str, n_files: int) -> Setup:
    from batches.models import DocumentType, MediaFile
    from clams_apps.services import app_register
    from pipelines.models import Pipeline, PipelineStep

    tag = datetime.now(UTC).strftime("%Y%m%d%H%M%S") + "-" + uuid.uuid4().hex[:6]
    app = app_register(endpoint, name=f"bench-noop-{tag}", max_concurrency=64, timeout=600)
    pipeline = Pipeline.objects.create(name=f"bench-{tag}", description="Chowda overhead benchmark")
    for position in range(1, STEPS + 1):
        PipelineStep.objects.create(pipeline=pipeline, position=position, app=app, parameters={})

    def media(i: int, kind: str) -> MediaFile:
        guid = f"bench-{tag}-{kind}-{i:04d}"
        return MediaFile(
            guid=guid,
            location=f"file:///bench/{guid}.mp4",
            mime_type="video/mp4",
            document_type=DocumentType.VIDEO,
        )

    warmup = MediaFile.objects.bulk_create([media(i, "warmup") for i in range(WARMUP_FILES)])
    files = MediaFile.objects.bulk_create([media(i, "file") for i in range(n_files)])
    return Setup(pipeline, list(MediaFile.objects.filter(guid__in=[m.guid for m in warmup]).order_by("guid")),
                 list(MediaFile.objects.filter(guid__in=[m.guid for m in files]).order_by("guid")), tag)  # fmt: skip


# --- the sequential loop -------------------------------------------------------------------------


@dataclass
class LoopResult:
    total: float
    request_times: list[float]
    cpu: dict[str, float] = field(default_factory=dict)


def run_loop(endpoint: str, media_files: list, work_dir: Path, processes: Processes) -> LoopResult:
    """What a simple runner script does: per file, POST the source MMIF, save the answer, POST it on, 3 times."""
    import requests

    from batches.mmif import source_mmif

    work_dir.mkdir(parents=True, exist_ok=True)
    session = requests.Session()
    times = []
    cpu_before = cpu_snapshot(processes)
    started = time.perf_counter()
    for media in media_files:
        body: bytes = source_mmif(media).encode()
        for step in range(1, STEPS + 1):
            t = time.perf_counter()
            response = session.post(endpoint, data=body, headers={"Content-Type": "application/json"}, timeout=600)
            content = response.content
            times.append(time.perf_counter() - t)
            if response.status_code != 200:
                raise BenchError(f"The loop's POST answered HTTP {response.status_code}: {content[:300]!r}")
            out = work_dir / f"{media.guid}-step-{step}.mmif"
            out.write_bytes(content)
            body = out.read_bytes()
    total = time.perf_counter() - started
    return LoopResult(total, times, cpu_used(cpu_before, cpu_snapshot(processes)))


# --- Chowda --------------------------------------------------------------------------------------


@dataclass
class ChowdaResult:
    total: float
    step_gaps: list[float]  # consecutive StepRun.finished_at differences, the first from t0
    cpu: dict[str, float] = field(default_factory=dict)  # CPU seconds per process during the batch


def run_batch(
    setup: Setup, media_files: list, label: str, worker: subprocess.Popen, timeout: float, processes: Processes
) -> ChowdaResult:
    from batches.models import Batch
    from runs.models import ACTIVE_STATUSES, Run, Status, StepRun
    from runs.services import batch_start

    batch = Batch.objects.create(name=f"bench-{setup.tag}-{label}", pipeline=setup.pipeline)
    batch.media_files.set(media_files)

    cpu_before = cpu_snapshot(processes)
    t0_wall = datetime.now(UTC)
    t0 = time.perf_counter()
    result = batch_start(batch)
    if result.started != len(media_files):
        raise BenchError(f"batch_start started {result.started} runs for {len(media_files)} files.")
    active = Run.objects.filter(batch=batch, status__in=ACTIVE_STATUSES)
    while active.exists():
        if worker.poll() is not None:
            raise BenchError(f"The Celery worker exited (code {worker.returncode}) during '{label}'.")
        if time.perf_counter() - t0 > timeout:
            raise BenchError(f"'{label}' did not finish within {timeout:g} seconds.")
        time.sleep(POLL_SECONDS)
    wall = time.perf_counter() - t0
    cpu = cpu_used(cpu_before, cpu_snapshot(processes))

    failed = Run.objects.filter(batch=batch).exclude(status=Status.SUCCEEDED)
    if failed.exists():
        lines = [
            f"{run.media_file.guid}: {run.status}: {run.error}" for run in failed.select_related("media_file")[:10]
        ]
        raise BenchError(f"{failed.count()} run(s) of '{label}' did not succeed:\n  " + "\n  ".join(lines))

    finished = sorted(StepRun.objects.filter(run__batch=batch).values_list("finished_at", flat=True))
    if len(finished) != len(media_files) * STEPS or any(f is None for f in finished):
        raise BenchError(f"'{label}': expected {len(media_files) * STEPS} finished steps, found {len(finished)}.")
    gaps, previous = [], t0_wall
    for moment in finished:
        gaps.append((moment - previous).total_seconds())
        previous = moment
    total = (finished[-1] - t0_wall).total_seconds()
    return ChowdaResult(total if total > 0 else wall, gaps, cpu)


def measure_chowda(setup, env, concurrency, processes, tmp, timeout) -> ChowdaResult:
    log = tmp / f"worker-{concurrency}.log"
    worker = start_worker(env, concurrency, processes, log)
    try:
        try:
            run_batch(setup, setup.warmup_files, f"warmup-c{concurrency}", worker, 120, processes)
            return run_batch(setup, setup.files, f"c{concurrency}", worker, timeout, processes)
        except BenchError as exc:
            raise BenchError(f"{exc}\nWorker log ({log}):\n{log.read_text()[-3000:]}") from None
    finally:
        processes.stop(worker)


def profile_worker(setup, env, processes, tmp, timeout, out: Path) -> int:
    """The measured batch at concurrency 1 with py-spy sampling the worker; prints where its CPU goes."""
    out.mkdir(parents=True, exist_ok=True)
    raw = out / "worker.txt"
    print(f"[bench] Chowda, worker concurrency 1, sampled by py-spy into {out} ...", flush=True)
    worker = start_worker(env, 1, processes, tmp / "worker-profile.log")
    try:
        run_batch(setup, setup.warmup_files, "warmup-profile", worker, 120, processes)
        py_spy = str(Path(sys.executable).parent / "py-spy")
        command = [py_spy, "record", "--pid", str(worker.pid), "--rate", "250", "--nonblocking", "--gil"]
        spy = subprocess.Popen([*command, "--format", "raw", "-o", str(raw)], stderr=subprocess.DEVNULL)
        time.sleep(1)  # py-spy attaches
        try:
            run_batch(setup, setup.files, "profile", worker, timeout, processes)
        finally:
            spy.send_signal(signal.SIGINT)  # py-spy writes what it sampled, then exits
            spy.wait(60)
    finally:
        processes.stop(worker)
    summary = summarise_profile(raw, steps=len(setup.files) * STEPS)
    (out / "summary.txt").write_text(summary + "\n")
    print(summary)
    print(f"[bench] the worker's collapsed stacks are in {raw}: open them in speedscope or flamegraph.pl")
    return 0


# Leaf frames where a thread waits rather than works (py-spy counts some of them as busy).
IDLE_FRAMES = (
    "Condition.wait (",
    "Selector.select (",
    "Selector.poll (",
    "_wait_for_tstate_lock",
    "time.sleep",
    "recv_into (",
)


def summarise_profile(raw: Path, steps: int, top: int = 45) -> str:
    """Self and total share of samples per function, from py-spy's collapsed stacks, busy samples only."""
    own: dict[str, int] = {}
    total: dict[str, int] = {}
    busy = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = stack.split(";")
        if not count.isdigit() or any(idle in frames[-1] for idle in IDLE_FRAMES):
            continue
        n = int(count)
        busy += n
        own[frames[-1]] = own.get(frames[-1], 0) + n
        for frame in set(frames):
            total[frame] = total.get(frame, 0) + n
    lines = [f"{busy} busy samples over {steps} steps ({busy / 250 / steps * 1000:.1f} ms a step at 250 samples/s)"]
    lines.append(f"{'total %':>8}{'self %':>8}  function")
    for frame, n in sorted(total.items(), key=lambda kv: -kv[1])[:top]:
        lines.append(f"{100 * n / busy:>8.1f}{100 * own.get(frame, 0) / busy:>8.1f}  {frame[:150]}")
    return "\n".join(lines)


# --- report --------------------------------------------------------------------------------------


def report(args, loop: LoopResult, c1: ChowdaResult, cn: ChowdaResult, database: str, redis: str) -> None:
    ms = 1000
    request_median = statistics.median(loop.request_times)
    overheads = [gap - request_median for gap in c1.step_gaps]
    overhead_median = statistics.median(overheads) * ms
    overhead_p95 = percentile(overheads, 95) * ms
    ratio_c1 = c1.total / loop.total
    throughput = loop.total / cn.total
    steps = args.files * STEPS

    def verdict(ok: bool) -> str:
        return "met" if ok else "MISSED"

    print()
    print(f"Chowda overhead benchmark: {args.files} files x {STEPS} steps, no-op app sleeping {args.work_ms:g} ms")
    print(f"database: {database}   redis: {redis}")
    print()
    print(f"{'measurement':<44}{'total s':>9}{'files/s':>9}{'ms/step':>9}")
    rows = [
        ("sequential requests.post loop", loop.total),
        ("Chowda, worker concurrency 1", c1.total),
        (f"Chowda, worker concurrency {args.concurrency}", cn.total),
    ]
    for name, total in rows:
        print(f"{name:<44}{total:>9.2f}{args.files / total:>9.2f}{total / steps * ms:>9.1f}")
    print(f"loop POST time: median {request_median * ms:.1f} ms, p95 {percentile(loop.request_times, 95) * ms:.1f} ms")
    names = ["worker", "app", "redis", "bench"]
    print(f"CPU ms per step, user+system, by process ({os.cpu_count()} CPUs here):")
    print(f"  {'measurement':<42}" + "".join(f"{n:>8}" for n in names) + f"{'all':>8}")
    for name, cpu in [("sequential loop", loop.cpu), ("Chowda c1", c1.cpu), (f"Chowda c{args.concurrency}", cn.cpu)]:
        cells = "".join(f"{cpu[n] / steps * ms:>8.1f}" if n in cpu else f"{'-':>8}" for n in names)
        print(f"  {name:<42}{cells}{sum(cpu.values()) / steps * ms:>8.1f}")
    print()
    print(f"{'figure':<44}{'value':>12}  {'target':<12}{'result'}")
    print(f"{'per-step overhead, median (concurrency 1)':<44}{overhead_median:>9.1f} ms  "
          f"{'<= ' + f'{TARGET_OVERHEAD_MS:g} ms':<12}{verdict(overhead_median <= TARGET_OVERHEAD_MS)}")  # fmt: skip
    print(f"{'per-step overhead, p95 (concurrency 1)':<44}{overhead_p95:>9.1f} ms  {'-':<12}")
    print(f"{'total time Chowda c1 / loop':<44}{ratio_c1:>11.2f}x  "
          f"{'<= ' + f'{TARGET_RATIO_C1:g}x':<12}{verdict(ratio_c1 <= TARGET_RATIO_C1)}")  # fmt: skip
    for name, cpu in [("c1", c1.cpu), (f"c{args.concurrency}", cn.cpu)]:
        worker_ms = cpu.get("worker", float("nan")) / steps * ms
        # Its goal is relative to the floor measured in the same run: bench/summary.py (`make bench`) prints it.
        print(f"{f'worker CPU per step, user+system ({name})':<44}{worker_ms:>9.1f} ms  {'see summary':<12}")
    print(f"{f'throughput Chowda c{args.concurrency} / loop':<44}{throughput:>11.2f}x  "
          f"{'>= ' + f'{TARGET_THROUGHPUT:g}x':<12}{verdict(throughput >= TARGET_THROUGHPUT)}")  # fmt: skip


def redact(url: str) -> str:
    """A database or Redis URL without its password."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return urlunsplit(parts._replace(netloc=netloc))
    return url


def main() -> int:
    args = parse_args()
    if args.files < 1 or args.concurrency < 1:
        print("--files and --concurrency must be at least 1", file=sys.stderr)
        return 2
    tmp = Path(tempfile.mkdtemp(prefix="chowda-bench-"))
    processes = Processes()
    try:
        env = configure_env(tmp, processes)

        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0, interactive=False)

        endpoint = start_app(args.work_ms, processes, tmp / "app.log")
        setup = prepare(endpoint, args.files)
        # Generous: 20x what a serial run would take, at least two minutes.
        timeout = max(120.0, 20 * args.files * STEPS * (args.work_ms / 1000 + 0.05))

        print(f"[bench] app at {endpoint}; temporary files in {tmp}", flush=True)
        print("[bench] sequential loop ...", flush=True)
        run_loop(endpoint, setup.warmup_files, tmp / "loop-warmup", processes)
        loop = run_loop(endpoint, setup.files, tmp / "loop", processes)
        if args.profile:
            return profile_worker(setup, env, processes, tmp, timeout, Path(args.profile))
        print("[bench] Chowda, worker concurrency 1 ...", flush=True)
        c1 = measure_chowda(setup, env, 1, processes, tmp, timeout)
        print(f"[bench] Chowda, worker concurrency {args.concurrency} ...", flush=True)
        cn = measure_chowda(setup, env, args.concurrency, processes, tmp, timeout)

        report(args, loop, c1, cn, redact(env["CHOWDA_DATABASE_URL"]), redact(env["CHOWDA_REDIS_URL"]))
        if args.json:
            steps = args.files * STEPS
            figures = {
                "loop_client_cpu_ms": 1000 * loop.cpu.get("bench", float("nan")) / steps,
                "worker_cpu_c1_ms": 1000 * c1.cpu.get("worker", float("nan")) / steps,
                f"worker_cpu_c{args.concurrency}_ms": 1000 * cn.cpu.get("worker", float("nan")) / steps,
            }
            Path(args.json).write_text(json.dumps(figures))
        return 0
    except BenchError as exc:
        print(f"[bench] failed: {exc}", file=sys.stderr)
        return 1
    finally:
        processes.stop_all()
        try:
            from django.db import connections

            connections.close_all()
        except Exception:
            pass
        if args.keep:
            print(f"[bench] kept {tmp}", file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
