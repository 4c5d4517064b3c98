"""Real failures of Chowda's own database, for worker processes of a fault test (tests/fault_helpers.py).

On PostgreSQL the workers reach the real server through a TCP forwarder on loopback: a *blip* ends
their backends with ``pg_terminate_backend`` (the server stays up), an *outage* closes every
connection through the forwarder and refuses new ones for a while. SQLite has no connection to
end: there the database's write lock is held by another connection, longer than the workers'
busy timeout, so their writes fail with "database is locked" as on a real contended file.
"""

import socket
import sqlite3
import threading
import time
from contextlib import contextmanager, suppress
from urllib.parse import urlsplit, urlunsplit

from django.db import connection

from chowda_site.redis_server import free_port

# The workers' SQLite busy timeout (CHOWDA_SQLITE_BUSY_TIMEOUT) in these tests: a lock held longer fails their writes.
SQLITE_BUSY_TIMEOUT = 1


class TcpForwarder:
    """Accepts on a loopback port and copies bytes both ways to ``target``; ``cut`` closes every connection
    and refuses new ones until ``open`` is called again."""

    def __init__(self, target: tuple[str, int]):
        self.target = target
        self.port = free_port()
        self._listener: socket.socket | None = None
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()

    def open(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.close()
        with self._lock:
            sockets, self._sockets = self._sockets, set()
        for sock in sockets:
            with suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # cut
            try:
                upstream = socket.create_connection(self.target, timeout=5)
                upstream.settimeout(None)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._sockets.update((client, upstream))
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)


class DatabaseFaults:
    """The test database as the fault test's workers reach it, and the failures a test can inflict on it."""

    def __init__(self, database_url: str):
        self.sqlite = connection.vendor == "sqlite"
        self.forwarder = None
        self.url = database_url
        if not self.sqlite:
            parts = urlsplit(database_url)
            self.forwarder = TcpForwarder((parts.hostname, parts.port or 5432))
            self.forwarder.open()
            netloc = (
                f"{parts.username}@127.0.0.1:{self.forwarder.port}"
                if parts.username
                else f"127.0.0.1:{self.forwarder.port}"
            )
            self.url = urlunsplit(parts._replace(netloc=netloc))

    def worker_env(self) -> dict[str, str]:
        """What a worker process needs to reach the database through these faults."""
        return {"CHOWDA_DATABASE_URL": self.url, "CHOWDA_SQLITE_BUSY_TIMEOUT": str(SQLITE_BUSY_TIMEOUT)}

    def blip(self) -> None:
        """The workers' connections fail once; the database itself stays up."""
        if self.sqlite:
            # Long enough that a step at its app now (the tests' app takes 1.5 s) fails every write after its call.
            with self._write_locked():
                time.sleep(5 * SQLITE_BUSY_TIMEOUT)
            return
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )

    def outage(self, seconds: float) -> None:
        """The database cannot be reached (PostgreSQL: connections refused; SQLite: writes locked) for ``seconds``."""
        if self.sqlite:
            with self._write_locked():
                time.sleep(seconds)  # the length of the outage is the point of the test
            return
        self.forwarder.cut()
        time.sleep(seconds)  # the length of the outage is the point of the test
        self.forwarder.open()

    @contextmanager
    def _write_locked(self):
        locker = sqlite3.connect(connection.settings_dict["NAME"], timeout=30, isolation_level=None)
        try:
            locker.execute("BEGIN EXCLUSIVE")
            yield
        finally:
            locker.execute("ROLLBACK")
            locker.close()

    def close(self) -> None:
        if self.forwarder is not None:
            self.forwarder.cut()
