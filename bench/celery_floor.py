"""What one Celery task costs the worker by itself: the floor under Chowda's CPU per step.

    .venv/bin/python bench/celery_floor.py            # also run by `make bench`

A Chowda step is one Celery task that, when its app has answered, sends the next step's task.
This runs exactly that with no Chowda code in it: a chain of no-op tasks, each sending the next,
through a real worker process (thread pool, concurrency 1) on a real Redis, with the broker
settings Chowda uses (acks late, prefetch 1, JSON, results ignored). The worker's CPU (user +
system) per task is what receiving, tracing, acknowledging and sending one task costs; Chowda's
own work per step (claiming it, the HTTP call, storing and checking the MMIF, recording it,
publishing its events) comes on top of it. Compare it with the step worker's target in
bench/overhead.py.
"""

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from celery import Celery

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

QUEUE = "celery-floor"
TASKS = 2000


def make_app(broker: str) -> Celery:
    app = Celery("celery_floor", broker=broker)
    # The settings of chowda_site/settings.py that bear on a task's cost.
    app.conf.update(
        task_ignore_result=True,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_serializer="json",
        accept_content=["json"],
        broker_transport_options={"visibility_timeout": 300},
        task_default_queue=QUEUE,
        worker_hijack_root_logger=False,
    )
    return app


app = make_app(os.environ.get("CELERY_FLOOR_BROKER", "redis://127.0.0.1:6379/0"))


@app.task(name="celery_floor.step")
def step(remaining: int) -> None:
    if remaining > 1:
        step.apply_async((remaining - 1,))


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    import argparse
    import json

    import redis

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", metavar="FILE", help="also write the figures to FILE (bench/summary.py reads it)")
    args = parser.parse_args()

    from chowda_site.redis_server import free_port, start_redis

    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        server = start_redis(port, Path(tmp), durable=False)
        broker = f"redis://127.0.0.1:{port}/0"
        env = {**os.environ, "CELERY_FLOOR_BROKER": broker, "PYTHONPATH": str(Path(__file__).parent)}
        env.pop("DJANGO_SETTINGS_MODULE", None)  # a plain Celery worker: Celery's Django fix-up stays off
        command = [sys.executable, "-m", "celery", "-A", "celery_floor", "worker", "-P", "threads", "-c", "1"]
        command += ["-l", "warning", "-Q", QUEUE, "--without-heartbeat", "--without-gossip", "--without-mingle"]
        worker = subprocess.Popen(command, env=env)
        try:
            floor_app = make_app(broker)
            client = redis.Redis(port=port)

            def run_chain(length: int) -> float:
                floor_app.send_task("celery_floor.step", (length,), queue=QUEUE)
                while True:  # the chain is done when nothing waits and nothing is held unacknowledged
                    time.sleep(0.1)
                    if client.llen(QUEUE) == 0 and client.hlen("unacked") == 0:
                        time.sleep(0.3)
                        if client.llen(QUEUE) == 0 and client.hlen("unacked") == 0:
                            return time.monotonic()

            run_chain(50)  # warm up: imports, connections
            before, started = cpu_seconds(worker.pid), time.monotonic()
            finished = run_chain(TASKS)
            per_task_cpu = 1000 * (cpu_seconds(worker.pid) - before) / TASKS
            per_task_wall = 1000 * (finished - started - 0.3) / TASKS
        finally:
            worker.terminate()
            worker.wait(timeout=30)
            server.terminate()
            server.wait(timeout=30)
    print(f"Celery alone, {TASKS} no-op tasks each sending the next (thread pool, concurrency 1):")
    print(f"  worker CPU per task {per_task_cpu:.2f} ms   wall time per task {per_task_wall:.2f} ms")
    print("  (Chowda's worker CPU per step, in bench/overhead.py, includes this once per step)")
    if args.json:
        Path(args.json).write_text(json.dumps({"celery_cpu_ms": per_task_cpu, "celery_wall_ms": per_task_wall}))


if __name__ == "__main__":
    main()
