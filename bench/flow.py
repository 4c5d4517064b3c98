"""Whether Chowda keeps every app of a pipeline at its limit, and whether a small batch waits behind a big one.

    make bench                       # or: .venv/bin/python bench/flow.py --files 60 --a-ms 200 --a-limit 4 ...

Two no-op CLAMS apps that sleep (bench/noop_app.py), A then B, each registered with its
concurrency limit, and a real Celery worker (thread pool, concurrency 8 by default), each in
its own process. N files go through A then B. No scheduler can finish before

    LB = max(N·a/ca + b,  a + N·b/cb)

(a and b: the calls' median durations as measured in the same run; ca and cb: the limits):
the slower app must do all its calls at its limit, after the first call of the other. The
benchmark prints the makespan, LB, the efficiency LB / makespan, each app's busy fraction
(its calls' time over limit x makespan) and the most calls each app had in flight at once
(counted by the app itself; it must never pass the limit).

Then fairness: a big batch starts, and a small one a second later on the same apps; the
small one's makespan is printed against its own bound alone.

A benchmark, not a test: it prints its figures against their goals and exits 0 whether or
not they are met, and 1 only if something breaks.
"""

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from overhead import BenchError, Processes, configure_env, start_app, start_worker

GOAL_EFFICIENCY = 0.95
GOAL_SMALL_RATIO = 1.5


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=60, help="files through A then B (default 60)")
    parser.add_argument("--a-ms", type=float, default=200, help="app A's time per call in ms (default 200)")
    parser.add_argument("--a-limit", type=int, default=4, help="app A's max_concurrency (default 4)")
    parser.add_argument("--b-ms", type=float, default=500, help="app B's time per call in ms (default 500)")
    parser.add_argument("--b-limit", type=int, default=2, help="app B's max_concurrency (default 2)")
    parser.add_argument("--concurrency", type=int, default=8, help="the worker's concurrency (default 8)")
    parser.add_argument("--big", type=int, default=200, help="files of the big batch of the fairness test")
    parser.add_argument("--small", type=int, default=5, help="files of the small batch of the fairness test")
    parser.add_argument("--no-fairness", action="store_true", help="skip the fairness measurement")
    parser.add_argument("--json", metavar="FILE", help="also write the figures to FILE (bench/summary.py reads it)")
    return parser.parse_args()


def bound(n: int, a: float, ca: int, b: float, cb: int) -> float:
    return max(n * a / ca + b, a + n * b / cb)


class Flow:
    def __init__(self, args, endpoints: dict[str, str]):
        from clams_apps.services import app_register
        from pipelines.models import Pipeline, PipelineStep

        self.args, self.endpoints = args, endpoints
        self.apps = {
            "A": app_register(endpoints["A"], name="flow-A", max_concurrency=args.a_limit, timeout=600),
            "B": app_register(endpoints["B"], name="flow-B", max_concurrency=args.b_limit, timeout=600),
        }
        self.pipeline = Pipeline.objects.create(name="flow A then B")
        for position, name in enumerate("AB", start=1):
            PipelineStep.objects.create(pipeline=self.pipeline, position=position, app=self.apps[name], parameters={})
        self.files_made = 0

    def batch(self, name: str, n: int):
        from batches.models import Batch, DocumentType, MediaFile

        first = self.files_made
        self.files_made += n
        MediaFile.objects.bulk_create(
            MediaFile(
                guid=f"flow-{i:06d}",
                location=f"file:///bench/flow-{i}.mp4",
                mime_type="video/mp4",
                document_type=DocumentType.VIDEO,
            )
            for i in range(first, first + n)
        )
        batch = Batch.objects.create(name=name, pipeline=self.pipeline)
        batch.media_files.set(MediaFile.objects.filter(guid__in=[f"flow-{i:06d}" for i in range(first, first + n)]))
        return batch

    def most_in_flight(self) -> dict[str, int]:
        """The most calls each app had at once since the last asking (the app counts them itself)."""
        most = {}
        for name, endpoint in self.endpoints.items():
            with urllib.request.urlopen(endpoint.rstrip("/") + "/__stats", timeout=10) as answer:
                most[name] = json.load(answer)["max_in_flight"]
        return most


def start(batch) -> float:
    from runs.services import batch_start

    started = time.time()
    result = batch_start(batch)
    if not result.started:
        raise BenchError(f"Batch {batch.name} did not start: {result.sentence}")
    return started


def wait_finished(batch, worker, timeout: float) -> None:
    from runs.models import ACTIVE_STATUSES, Run, Status

    deadline = time.monotonic() + timeout
    active = Run.objects.filter(batch=batch, status__in=ACTIVE_STATUSES)
    while active.exists():
        if worker.poll() is not None:
            raise BenchError(f"The worker exited (code {worker.returncode}).")
        if time.monotonic() > deadline:
            raise BenchError(f"Batch {batch.name} did not finish within {timeout:g} s.")
        time.sleep(0.05)
    failed = Run.objects.filter(batch=batch).exclude(status=Status.SUCCEEDED)
    if failed.exists():
        raise BenchError(f"{failed.count()} run(s) of {batch.name} did not succeed: {failed.first().error}")


def measured(batch, started: float) -> dict:
    """The batch's makespan (from its start to its last step's end) and its calls' durations per app."""
    from runs.models import StepRun

    steps = list(StepRun.objects.filter(run__batch=batch).values_list("position", "duration", "finished_at"))
    durations = {1: [], 2: []}
    for position, duration, _ in steps:
        durations[position].append(duration)
    return {
        "makespan": max(finished.timestamp() for _, _, finished in steps) - started,
        "a": statistics.median(durations[1]),
        "b": statistics.median(durations[2]),
        "busy": {"A": sum(durations[1]), "B": sum(durations[2])},
    }


def main() -> int:
    args = parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="chowda-flow-"))
    processes = Processes()
    rows = []
    try:
        env = configure_env(tmp, processes)
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0, interactive=False)
        endpoints = {
            "A": start_app(args.a_ms, processes, tmp / "app-a.log"),
            "B": start_app(args.b_ms, processes, tmp / "app-b.log"),
        }
        flow = Flow(args, endpoints)
        worker = start_worker(env, args.concurrency, processes, tmp / "worker.log")
        timeout = 30 + 10 * bound(
            max(args.files, args.big), args.a_ms / 1000, args.a_limit, args.b_ms / 1000, args.b_limit
        )

        print(f"[flow] warming up; temporary files in {tmp}", flush=True)
        warm = flow.batch("warm-up", 2 * args.concurrency)
        start(warm)
        wait_finished(warm, worker, timeout)
        flow.most_in_flight()

        print(
            f"[flow] {args.files} files through A ({args.a_ms:g} ms, limit {args.a_limit}) then B ({args.b_ms:g} ms, "
            f"limit {args.b_limit}), worker concurrency {args.concurrency} ...",
            flush=True,
        )
        batch = flow.batch("flow", args.files)
        started = start(batch)
        wait_finished(batch, worker, timeout)
        m = measured(batch, started)
        most = flow.most_in_flight()
        lower = bound(args.files, m["a"], args.a_limit, m["b"], args.b_limit)
        efficiency = lower / m["makespan"]
        print()
        print(f"calls: a = {m['a'] * 1000:.0f} ms, b = {m['b'] * 1000:.0f} ms (medians, as the worker measured them)")
        print(f"makespan {m['makespan']:.2f} s; no scheduler can beat LB = {lower:.2f} s")
        for name, limit in (("A", args.a_limit), ("B", args.b_limit)):
            busy = m["busy"][name] / (limit * m["makespan"])
            print(f"app {name}: busy {busy:.2f} of its {limit} slots' time; most calls in flight {most[name]}")
        figures = {"efficiency": efficiency, "most_in_flight": most, "limits": {"A": args.a_limit, "B": args.b_limit}}
        rows.append(("pipeline efficiency LB / makespan", f"{efficiency:.2f}", f">= {GOAL_EFFICIENCY}",
                     efficiency >= GOAL_EFFICIENCY))  # fmt: skip
        within = most["A"] <= args.a_limit and most["B"] <= args.b_limit
        rows.append(("most calls in flight (A, B) / limits", f"{most['A']}, {most['B']}",
                     f"<= {args.a_limit}, {args.b_limit}", within))  # fmt: skip

        if not args.no_fairness:
            print(f"\n[flow] fairness: {args.big} files, then {args.small} files a second later ...", flush=True)
            big, small = flow.batch("big", args.big), flow.batch("small", args.small)
            start(big)
            time.sleep(1)  # the point of the measurement: the small batch comes a second after the big one
            small_started = start(small)
            wait_finished(small, worker, timeout)
            s = measured(small, small_started)
            alone = bound(args.small, m["a"], args.a_limit, m["b"], args.b_limit)
            ratio = s["makespan"] / alone
            figures["small_ratio"] = ratio
            print(f"small batch: {s['makespan']:.2f} s after its start; alone it could not beat {alone:.2f} s")
            rows.append(("small batch after a big one / its bound", f"{ratio:.2f}x", f"<= {GOAL_SMALL_RATIO}x",
                         ratio <= GOAL_SMALL_RATIO))  # fmt: skip
            from runs.services import batch_cancel

            batch_cancel(big)

        print()
        print(f"{'figure':<44}{'value':>12}  {'goal':<12}result")
        for label, value, goal, ok in rows:
            print(f"{label:<44}{value:>12}  {goal:<12}{'met' if ok else 'MISSED'}")
        if args.json:
            Path(args.json).write_text(json.dumps(figures))
        return 0
    except BenchError as exc:
        print(f"[flow] failed: {exc}", file=sys.stderr)
        return 1
    finally:
        processes.stop_all()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
