"""Chowda served by Daphne in its own process, as the browser and websocket tests meet it."""

import os
import subprocess
import sys
from pathlib import Path

import requests
from django.conf import settings
from django.db import connection

from chowda_site.redis_server import free_port
from tests.runner_helpers import wait_for

ROOT = Path(__file__).resolve().parent.parent


def database_url() -> str:
    """The URL of the test database, so a server process reads what the test writes."""
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    return f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


class Daphne:
    """Daphne on the test database, the test Redis and the test media; its output goes to ``log``."""

    def __init__(self, redis_url: str, tmp_path: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = tmp_path / "daphne.log"
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "chowda_site.settings",
            "CHOWDA_SECRET_KEY": settings.SECRET_KEY,
            "CHOWDA_DATABASE_URL": database_url(),
            "CHOWDA_REDIS_URL": redis_url,
            "CHOWDA_REDIS_KEY_PREFIX": settings.REDIS_KEY_PREFIX,
            "CHOWDA_MEDIA_ROOT": str(settings.MEDIA_ROOT),
            "CHOWDA_SERVED_MEDIA_ROOT": str(settings.SERVED_MEDIA_ROOT or ""),
            "CHOWDA_STATIC_ROOT": str(tmp_path / "static"),
            "CHOWDA_SECURE_COOKIES": "false",
        }
        self.manage("collectstatic", "--noinput", "-v0")
        self.process = None

    def manage(self, *args: str) -> None:
        subprocess.run([sys.executable, "manage.py", *args], env=self.env, cwd=ROOT, check=True)

    def start(self) -> None:
        with self.log.open("a") as log:
            command = [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(self.port)]
            self.process = subprocess.Popen(
                [*command, "chowda_site.asgi:application"],
                env=self.env,
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        wait_for(self._answers, timeout=30, message="Daphne to answer")

    def stop(self) -> None:
        """Stop Daphne; a server still draining its sockets after 20 s is killed, so teardown never hangs."""
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)

    def _answers(self) -> bool:
        try:
            # Daphne loads Django on its first request, which takes seconds on a busy machine: a slow first
            # answer means "not yet", like a refused connection.
            return requests.get(f"{self.url}/admin/login/", timeout=5).status_code == 200
        except (requests.ConnectionError, requests.Timeout):
            return False
