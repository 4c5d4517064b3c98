"""A media server on loopback (HTTP with range requests) and an S3-compatible one (moto), for the staging tests."""

import re
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


class MediaServer:
    """Serves the files of a folder over HTTP, with range requests and HEAD; counts the GETs of each path.

    ``redirects`` maps a path to the URL it answers 302 with, instead of a file; with ``head`` off it
    answers HEAD with 405, as some servers do.
    """

    def __init__(self, folder: Path):
        self.folder = folder
        self.gets = Counter()
        self.redirects: dict[str, str] = {}
        self.head = True
        server = self

        class Handler(BaseHTTPRequestHandler):
            def file(self) -> Path | None:
                """The file asked for, or None once a redirect or a 404 has been sent instead."""
                if self.path in server.redirects:
                    self.send_response(302)
                    self.send_header("Location", server.redirects[self.path])
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return None
                path = server.folder / self.path.lstrip("/")
                if not path.is_file():
                    self.send_error(404)
                    return None
                return path

            def do_HEAD(self):
                if not server.head:
                    self.send_error(405)
                    return
                path = self.file()
                if path is not None:
                    self.send_response(200)
                    self.send_header("Accept-Ranges", "bytes")
                    self.send_header("Content-Length", str(path.stat().st_size))
                    self.end_headers()

            def do_GET(self):
                server.gets[self.path] += 1
                path = self.file()
                if path is None:
                    return
                data = path.read_bytes()
                start, end = 0, len(data) - 1
                match = re.fullmatch(r"bytes=(\d*)-(\d*)", self.headers.get("Range", ""))
                if match:
                    start = int(match[1] or 0)
                    end = min(int(match[2]) if match[2] else end, end)
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{end}/{len(data)}")
                else:
                    self.send_response(200)
                self.send_header("Accept-Ranges", "bytes")
                self.send_header("Content-Length", str(end - start + 1))
                self.end_headers()
                self.wfile.write(data[start : end + 1])

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def start_moto(folder: Path) -> tuple[subprocess.Popen | None, str, str]:
    """moto's S3-compatible server on a free loopback port: (process, endpoint URL, why it did not start)."""
    executable = shutil.which("moto_server") or str(Path(sys.executable).with_name("moto_server"))
    if not Path(executable).exists():
        return None, "", "moto_server is not installed"
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    log = open(folder / "moto.log", "wb")  # noqa: SIM115 (kept open for the process's life)
    process = subprocess.Popen([executable, "-H", "127.0.0.1", "-p", str(port)], stdout=log, stderr=log)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return None, "", f"moto_server exited: {(folder / 'moto.log').read_text()[-300:]}"
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return process, f"http://127.0.0.1:{port}", ""
        except OSError:
            time.sleep(0.1)
    process.terminate()
    return None, "", "moto_server did not listen within 20 s"
