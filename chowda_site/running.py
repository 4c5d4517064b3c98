"""Where the running Chowda's Redis is, for the commands and processes started in another terminal.

`manage.py launch` (``make run``) writes the Redis it uses to ``<var>/launcher.json`` and holds an exclusive lock
on that file as long as it runs; settings read it when CHOWDA_REDIS_URL is unset. A record nobody holds the lock
of was left by a launcher that died (``kill -9``, a crash) and is ignored: the kernel drops a lock with its
process, so no reused process id can pass for the launcher. Settings import this, so it stays cheap and plain.
"""

import contextlib
import fcntl
import json
import os
from pathlib import Path

RECORD = "launcher.json"


def launched_redis_url(var_dir: Path) -> str:
    """The Redis URL of the launcher running from ``var_dir``, or "" when none runs there."""
    try:
        with open(Path(var_dir) / RECORD, "rb") as record:
            try:
                fcntl.flock(record, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:  # the launcher holds it: it runs
                return str(json.loads(record.read())["redis_url"])
            return ""
    except (OSError, ValueError, KeyError, TypeError):  # no record, or one still being written
        return ""


class AlreadyLaunched(RuntimeError):
    """Another launcher runs from the same folder; the message says which and what to do."""


class LauncherRecord:
    """The launcher's side of the record: taken before anything starts, removed when the launcher ends."""

    def __init__(self, var_dir: Path):
        """Raises AlreadyLaunched when another launcher holds the record of ``var_dir``."""
        self.path = Path(var_dir) / RECORD
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)  # the URL may hold Redis's password
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            other = _pid_in(os.read(self._fd, 4096))
            os.close(self._fd)
            raise AlreadyLaunched(
                f"Chowda is already running from {self.path.parent}{f' (launcher pid {other})' if other else ''}: "
                "use that one, or stop it (Ctrl-C in its terminal) before starting another, or give this one "
                "its own --data-dir."
            ) from None

    def write(self, redis_url: str) -> None:
        """Say which Redis this launcher's services use."""
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, json.dumps({"redis_url": redis_url, "pid": os.getpid()}).encode(), 0)

    def __enter__(self) -> "LauncherRecord":
        return self

    def __exit__(self, *exc_info) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()  # while still locked, so no reader takes a half-removed record for a live one
        os.close(self._fd)


def _pid_in(content: bytes) -> int | None:
    try:
        return int(json.loads(content)["pid"])
    except (ValueError, KeyError, TypeError):
        return None
