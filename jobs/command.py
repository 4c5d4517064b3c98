"""Running an app's command for one step on the worker's machine, and making sure it ends.

The command runs in the step's folder (``folder``) as the leader of a process group of its own, so a
timeout or a cancel ends it and everything it started. Two guards cover a worker killed outright
(SIGKILL, the machine's out-of-memory killer), which cannot end anything itself:

- on Linux the command is started with ``PR_SET_PDEATHSIG``: the kernel kills it when the worker dies;
- the folder holds ``process.json`` (the group's pid, its start time, the machine and the worker's pid), so the
  step sent again ends what is left of the earlier try before it starts (``reap``), and a worker starting on
  the machine ends those whose worker is gone (``reap_orphans_on_start``): an app's own children, which the
  kernel's guard does not reach, end too.
"""

import contextlib
import ctypes
import ctypes.util
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from django.conf import settings

logger = logging.getLogger(__name__)

PROCESS_FILE = "process.json"
STDERR_FILE = "stderr.log"
STDOUT_FILE = "stdout.log"
# Seconds a command has between SIGTERM and SIGKILL.
KILL_GRACE = 5.0
TAIL_LINES = 40
TAIL_BYTES = 8000

_libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True) if sys.platform == "linux" else None
PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:  # pragma: no cover (runs in the child, between fork and exec)
    """Ask the kernel to SIGKILL the command when the worker that started it dies. Only a system call, nothing
    that takes a lock: it runs in the child of a process with threads."""
    if _libc is not None:
        _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


@dataclass(frozen=True)
class Finished:
    """How the command ended: it ``exited`` (with ``exit_code``), or Chowda ended it (``timeout``, ``stopped``)."""

    ended: Literal["exited", "timeout", "stopped", "not_started"]
    exit_code: int | None
    duration: float
    stderr_tail: str
    message: str = ""


def run(
    argv: list[str],
    *,
    folder: Path,
    timeout: float,
    should_stop: Callable[[], bool],
    poll: float = 1.0,
) -> Finished:
    """Run ``argv`` in ``folder`` (its stdout and stderr kept there) until it exits, ``timeout`` seconds pass,
    or ``should_stop()`` says the step is no longer to run (the run was cancelled or sent again)."""
    reap(folder)
    started = time.monotonic()
    try:
        with open(folder / STDOUT_FILE, "wb") as stdout, open(folder / STDERR_FILE, "wb") as stderr:
            process = subprocess.Popen(
                argv,
                cwd=folder,
                stdin=subprocess.DEVNULL,
                stdout=stdout,
                stderr=stderr,
                start_new_session=True,
                preexec_fn=_die_with_parent,  # only a system call: safe beside threads
            )
    except OSError as exc:
        return Finished("not_started", None, 0.0, "", f"{exc.strerror or exc}: {argv[0]}")
    _write_process_file(folder, process.pid)
    ended: Literal["exited", "timeout", "stopped"] = "exited"
    try:
        deadline = started + timeout
        while True:
            try:
                process.wait(timeout=min(poll, max(deadline - time.monotonic(), 0.01)))
                break
            except subprocess.TimeoutExpired:
                pass
            if time.monotonic() >= deadline:
                ended = "timeout"
            elif should_stop():
                ended = "stopped"
            else:
                continue
            _end_group(process)
            break
    finally:
        # Whatever it started and left behind (or everything, if this worker is being stopped) ends with it.
        _kill_group(process.pid)
        if process.poll() is None:
            process.kill()
            process.wait()
        (folder / PROCESS_FILE).unlink(missing_ok=True)
    return Finished(ended, process.returncode, time.monotonic() - started, tail(folder / STDERR_FILE))


def tail(path: Path, lines: int = TAIL_LINES) -> str:
    """The last ``lines`` lines of a log (at most TAIL_BYTES of it), as text."""
    try:
        with open(path, "rb") as log:
            log.seek(0, os.SEEK_END)
            log.seek(max(0, log.tell() - TAIL_BYTES))
            data = log.read()
    except FileNotFoundError:
        return ""
    return "\n".join(data.decode("utf-8", errors="replace").splitlines()[-lines:])


def _end_group(process: subprocess.Popen) -> None:
    """SIGTERM the command's process group, then SIGKILL it if it is still there after KILL_GRACE seconds."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=KILL_GRACE)
    except subprocess.TimeoutExpired:
        _kill_group(process.pid)
        process.wait()


def _kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def _start_time(pid: int) -> int | None:
    """When the process started (clock ticks since boot), to tell it from a later process given the same pid."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[19])


def _session_of(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[3])


def _write_process_file(folder: Path, pid: int) -> None:
    record = {
        "pid": pid,
        "started": _start_time(pid),
        "host": socket.gethostname(),
        "worker_pid": os.getpid(),
        "worker_started": _start_time(os.getpid()),
    }
    (folder / PROCESS_FILE).write_text(json.dumps(record))


def _alive(pid: int, started: int | None) -> bool:
    now = _start_time(pid)
    return now is not None and now == started


def reap(folder: Path) -> bool:
    """End what is left of a command an earlier try of this step started in ``folder`` on this machine; True if
    something was left. Its leader may be gone while processes it started live on in its session."""
    try:
        record = json.loads((folder / PROCESS_FILE).read_text())
    except (OSError, ValueError):
        return False
    if record.get("host") != socket.gethostname():
        return False  # another machine's: its workers reap it (and the kernel ended the command itself)
    pid = int(record["pid"])
    leader_now = _start_time(pid)
    if leader_now is not None and leader_now != record.get("started"):
        (folder / PROCESS_FILE).unlink(missing_ok=True)  # the pid is another process's now: nothing of ours
        return False
    left = [p for p in _pids() if p != pid and _session_of(p) == pid]
    if leader_now is not None:
        left.append(pid)
    for each in left:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(each, signal.SIGKILL)
    (folder / PROCESS_FILE).unlink(missing_ok=True)
    if left:
        logger.warning("Ended %d process(es) left running by an earlier try of the step in %s.", len(left), folder)
    return bool(left)


def _pids() -> list[int]:
    return [int(entry) for entry in os.listdir("/proc") if entry.isdigit()] if os.path.isdir("/proc") else []


def reap_orphans(root: Path) -> int:
    """End the commands under ``root`` (step folders) on this machine whose worker is gone; how many."""
    ended = 0
    for process_file in root.glob(f"*/*/{PROCESS_FILE}"):
        try:
            record = json.loads(process_file.read_text())
        except (OSError, ValueError):
            continue
        if record.get("host") == socket.gethostname() and not _alive(
            int(record.get("worker_pid", 0)), record.get("worker_started")
        ):
            ended += reap(process_file.parent)
    return ended


def reap_orphans_on_start(**kwargs) -> None:
    try:
        reap_orphans(Path(settings.JOB_ROOT))
    except OSError as exc:  # never keeps a worker from starting
        logger.warning("Could not look for commands left running under %s: %s", settings.JOB_ROOT, exc)
