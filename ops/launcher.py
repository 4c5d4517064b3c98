"""Start Chowda's services as child processes, say where they are, and stop them all together.

Used by ``manage.py launch`` (``make run`` / ``make demo``). Every child is started in
its own process group so that stopping it also stops whatever it started.
"""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

STOP_GRACE = 5.0  # seconds a child gets to stop after SIGTERM before it is killed


class LaunchError(RuntimeError):
    """A service could not start; the message names it and says why."""


@dataclass
class Service:
    name: str
    command: list[str]
    address: str
    ready: Callable[[], bool]
    env: dict = field(default_factory=dict)
    process: subprocess.Popen | None = None


def port_is_free(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def listening(host: str, port: int) -> Callable[[], bool]:
    def check() -> bool:
        try:
            with socket.create_connection((host, port), timeout=0.2):
                return True
        except OSError:
            return False

    return check


class Launcher:
    """Owns the child processes: starts them in order, watches them, stops them all on a signal or a death."""

    def __init__(self, write: Callable[[str], None], log_dir: Path):
        self.write = write
        self.log_dir = log_dir
        self.services: list[Service] = []
        self._stopping = False

    def need_port(self, service: str, host: str, port: int, setting: str) -> None:
        if not port_is_free(host, port):
            raise LaunchError(
                f"{service} cannot listen on {host}:{port}: the port is in use by another program. "
                f"Stop that program or choose another port with {setting}."
            )

    def start(self, service: Service, timeout: float = 30.0) -> None:
        """Start a child and wait until it is ready. Raises LaunchError naming it if it dies or hangs."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log_path = self.log_dir / f"{service.name.lower().replace(' ', '-')}.log"
        log = log_path.open("ab")
        service.process = subprocess.Popen(
            service.command,
            env={**os.environ, **service.env},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.services.append(service)
        deadline = time.monotonic() + timeout
        while not service.ready():
            code = service.process.poll()
            if code is not None:
                raise LaunchError(
                    f"{service.name} stopped while starting (exit code {code}): {_last_line(log_path)} "
                    f"(full log: {log_path})"
                )
            if time.monotonic() > deadline:
                raise LaunchError(f"{service.name} did not become ready within {timeout:g} seconds (log: {log_path}).")
            time.sleep(0.1)
        self.write(f"  {service.name:<28} {service.address}")

    def watch(self) -> int:
        """Block until a signal (returns 0) or until a child dies (returns 1); then stop everything."""
        caught = []

        def on_signal(signum, frame):
            caught.append(signum)

        previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            while not caught:
                for service in self.services:
                    code = service.process.poll()
                    if code is not None:
                        self.write(f"{service.name} stopped unexpectedly (exit code {code}); stopping the others.")
                        return 1
                time.sleep(0.2)
            self.write("Stopping…")
            return 0
        finally:
            self.stop_all()
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def stop_all(self) -> None:
        """SIGTERM every child's process group, newest first; SIGKILL whatever is left after the grace time."""
        if self._stopping:
            return
        self._stopping = True
        running = [s for s in reversed(self.services) if s.process and s.process.poll() is None]
        for service in running:
            _signal_group(service.process, signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE
        for service in running:
            try:
                service.process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.write(f"{service.name} did not stop within {STOP_GRACE:g} s; killing it.")
                _signal_group(service.process, signal.SIGKILL)
                service.process.wait()
        for service in self.services:  # stragglers a child left in its group
            _signal_group(service.process, signal.SIGKILL)


def _signal_group(process: subprocess.Popen, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, sig)


def _last_line(path: Path) -> str:
    lines = [line for line in path.read_text(errors="replace").splitlines() if line.strip()]
    return lines[-1].strip() if lines else "it printed nothing"


def python_module(module: str, *args: str) -> list[str]:
    return [sys.executable, "-m", module, *args]
