"""Every benchmark in one run, then the table of the figures Chowda is held to, each against its goal.

    make bench                       # or: .venv/bin/python bench/summary.py

Runs bench/celery_floor.py, bench/overhead.py, bench/flow.py, bench/memory.py, bench/scale.py and bench/sync.py
one after the other (each prints its own figures as it goes), then prints:

- the floor under a step's worker CPU, measured in the same run: a Celery task that does nothing but send
  the next (bench/celery_floor.py) plus the CPU the HTTP client of a bare loop spends on the same request
  (bench/overhead.py's sequential loop); and Chowda's worker CPU per step at concurrency 1 and 8 over it;
- whether a pipeline of two apps under limits keeps them at their limits, and whether a small batch waits
  behind a big one (bench/flow.py);
- imports, starts, the live page and a cancel at 100,000 files (bench/scale.py);
- a sync of an S3 source of 10,000 and 100,000 objects: time, peak memory, queries per page (bench/sync.py).

Figures of CPU and time depend on the machine and on what else runs on it: run it on an idle machine. A
benchmark, not a test: it exits 0 whether or not the goals are met, and 1 only if a benchmark breaks.
"""

import json
import subprocess
import sys
import tempfile
from pathlib import Path

BENCH = Path(__file__).resolve().parent
GOAL_CPU_RATIO = 2.0


def run(script: str, *args: str, figures: Path | None = None) -> dict:
    command = [sys.executable, str(BENCH / script), *args]
    if figures is not None:
        command += ["--json", str(figures)]
    print(f"\n=== {script} {' '.join(args)}".rstrip(), flush=True)
    if subprocess.run(command, cwd=BENCH.parent).returncode != 0:
        raise SystemExit(f"{script} broke: see its output above.")
    return json.loads(figures.read_text()) if figures is not None else {}


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        floor = run("celery_floor.py", figures=out / "floor.json")
        overhead = run("overhead.py", "--files", "120", figures=out / "overhead.json")
        flow = run("flow.py", figures=out / "flow.json")
        run("memory.py")
        scale = run("scale.py", figures=out / "scale.json")
        sync = run("sync.py", figures=out / "sync.json")

    client = overhead["loop_client_cpu_ms"]
    base = floor["celery_cpu_ms"] + client
    rows = [
        ("Celery no-op task, worker CPU", f"{floor['celery_cpu_ms']:.2f} ms", "", None),
        ("loop client CPU per request", f"{client:.2f} ms", "", None),
        ("floor: the two together", f"{base:.2f} ms", "", None),
    ]
    for concurrency in (1, 8):
        cpu = overhead[f"worker_cpu_c{concurrency}_ms"]
        ratio = cpu / base
        rows.append(
            (
                f"worker CPU per step, c{concurrency} / floor",
                f"{cpu:.1f} ms = {ratio:.1f}x",
                f"<= {GOAL_CPU_RATIO:g}x",
                ratio <= GOAL_CPU_RATIO,
            )
        )
    most, limits = flow["most_in_flight"], flow["limits"]
    rows += [
        (
            "pipeline efficiency (bench/flow.py)",
            f"{flow['efficiency']:.2f} of LB",
            ">= 0.95 of LB",
            flow["efficiency"] >= 0.95,
        ),
        (
            "calls in flight, A and B / their limits",
            f"{most['A']}, {most['B']} / {limits['A']}, {limits['B']}",
            "never above",
            most["A"] <= limits["A"] and most["B"] <= limits["B"],
        ),
        ("small batch after a big one", f"{flow['small_ratio']:.2f}x its bound", "<= 1.5x", flow["small_ratio"] <= 1.5),
    ]
    for label, key, goal in [
        ("import of 10,000 GUIDs", "import 10,000 GUIDs (thumbnails recorded)", 1.5),
        ("import of 100,000 GUIDs", "import 100,000 GUIDs (thumbnails recorded)", 10.0),
        ("6-file batch after a 100,000-file import: first step", "6 files started after it: first step sent", 2.0),
        ("100,000-file batch: start", "start 100,000 files: the call returns", 5.0),
        ("100,000-file batch: live page", "live batch page", 0.5),
        ("100,000-file batch: cancel", "cancel 100,000 files", 2.0),
    ]:
        rows.append((label, f"{scale[key]:.2f} s", f"<= {goal:g} s", scale[key] <= goal))
    small, big = sync["10000"], sync["100000"]
    rows += [
        (
            "S3 sync of 100,000 objects (listing alone)",
            f"{big['first']['seconds']:.1f} s ({big['listing_seconds']:.1f} s)",
            "",
            None,
        ),
        (
            "  the same, nothing changed",
            f"{big['again']['seconds']:.1f} s",
            "",
            None,
        ),
        (
            "sync peak memory, 10,000 / 100,000 objects",
            f"+{small['first']['peak_rise_mb']:.0f} / +{big['first']['peak_rise_mb']:.0f} MB",
            "flat",
            big["first"]["peak_rise_mb"] <= 1.5 * small["first"]["peak_rise_mb"] + 5,
        ),
        (
            "sync queries per page, 10,000 / 100,000 objects",
            f"{small['first']['queries_per_page']:.0f} / {big['first']['queries_per_page']:.0f}",
            "flat",
            big["first"]["queries_per_page"] <= small["first"]["queries_per_page"] + 1,
        ),
    ]

    print('\n=== The figures Chowda is held to (docs/operating.md, "Benchmark")')
    print(f"{'figure':<56}{'value':>22}  {'goal':<16}result")
    for label, value, goal, met in rows:
        verdict = "" if met is None else ("met" if met else "MISSED")
        print(f"{label:<56}{value:>22}  {goal:<16}{verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
