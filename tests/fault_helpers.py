"""Real processes to break: a Redis server that is stopped and started, and Celery workers that are killed.

Fault tests run their own Redis and their own worker processes on the test database. Batches are
started by ``manage.py start_batch`` in a child process on that Redis, so the test process itself
never sends to it; the in-process test worker's dispatcher is paused meanwhile (``paused_dispatcher``).
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings

from chowda_site.redis_server import free_port, redis_command
from tests.live_server import ROOT, database_url
from tests.runner_helpers import wait_for

# Short intervals so a test sees a lost worker within seconds; the defaults (docs/operating.md) are
# what `make bench` measures recovery with.
FAST_RECOVERY = {
    "CHOWDA_WORKER_HEARTBEAT": "1",
    "CHOWDA_WORKER_LOST_AFTER": "4",
    "CHOWDA_DISPATCH_INTERVAL": "1",
    "CHOWDA_SLOT_LEASE": "4",
}


class RedisServer:
    """A redis-server on a port of its own, which a test may kill and start again."""

    def __init__(self, data_dir: Path, *, durable: bool):
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.data_dir, self.durable = data_dir, durable
        self.process = None

    def start(self, *, keep_data: bool = True) -> None:
        if not keep_data:
            for stored in self.data_dir.glob("*"):
                if stored.is_file():
                    stored.unlink()
        command = redis_command(self.port, self.data_dir, durable=self.durable)
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(self.answers, timeout=10, message=f"Redis on port {self.port}")

    def stop(self, sig: int = signal.SIGKILL) -> None:
        self.process.send_signal(sig)
        self.process.wait(timeout=10)

    def answers(self) -> bool:
        import redis

        try:
            return redis.Redis.from_url(self.url, socket_timeout=0.5, socket_connect_timeout=0.5).ping()
        except redis.RedisError:
            return False


def chowda_env(redis_url: str, **extra: str) -> dict[str, str]:
    """The environment of a Chowda child process on the test database and the given Redis."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "chowda_site.settings",
        "CHOWDA_SECRET_KEY": settings.SECRET_KEY,
        "CHOWDA_DATABASE_URL": database_url(),
        "CHOWDA_DATABASE_CONN_MAX_AGE": "0",
        "CHOWDA_REDIS_URL": redis_url,
        "CHOWDA_REDIS_KEY_PREFIX": settings.REDIS_KEY_PREFIX,
        "CHOWDA_MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "CHOWDA_STEP_RETRY_BACKOFF": "0.2",
        **FAST_RECOVERY,
        **extra,
    }


class WorkerProcess:
    """``celery worker`` in its own process group, logging to a file."""

    def __init__(self, redis_url: str, log: Path, *, concurrency: int = 4, env: dict[str, str] | None = None):
        self.log = log
        self.env = {**chowda_env(redis_url), **(env or {})}
        command = [sys.executable, "-m", "celery", "-A", "chowda_site", "worker", "--pool", "threads"]
        command += ["--concurrency", str(concurrency), "--loglevel", "INFO", "--without-gossip", "--without-mingle"]
        command += ["--hostname", f"fault-{log.stem}@%h"]
        with log.open("a") as out:
            self.process = subprocess.Popen(
                command, env=self.env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        self.started_at = time.monotonic()

    def kill(self) -> None:
        """SIGKILL the whole process group: nothing gets a chance to clean up."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def manage(redis_url: str, *args: str) -> str:
    """Run a management command in a child process on this Redis; returns what it printed."""
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        env=chowda_env(redis_url),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


class FaultWorld:
    """The Redis servers and workers a fault test started, all stopped when it ends, whatever happened."""

    def __init__(self, tmp_path: Path):
        self.tmp_path = tmp_path
        self.servers: list[RedisServer] = []
        self.workers: list[WorkerProcess] = []

    def redis(self, *, durable: bool) -> RedisServer:
        server = RedisServer(self.tmp_path / f"redis-{len(self.servers)}", durable=durable)
        server.start()
        self.servers.append(server)
        return server

    def worker(
        self, redis: RedisServer, name: str, *, concurrency: int = 4, env: dict[str, str] | None = None
    ) -> WorkerProcess:
        worker = WorkerProcess(redis.url, self.tmp_path / f"{name}.log", concurrency=concurrency, env=env)
        self.workers.append(worker)
        return worker

    def stacks(self) -> str:
        """What each live worker's threads are doing (Celery logs them on SIGUSR1), and its last lines."""
        said = []
        for worker in self.workers:
            if worker.alive:
                os.kill(worker.process.pid, signal.SIGUSR1)
        time.sleep(1)
        for worker in self.workers:
            said.append(f"--- {worker.log.name} ---\n{worker.output()[-6000:]}")
        return "\n".join(said)

    def close(self) -> None:
        for worker in self.workers:
            if worker.alive:
                worker.kill()
        for server in self.servers:
            if server.process is not None and server.process.poll() is None:
                server.stop(signal.SIGKILL)
