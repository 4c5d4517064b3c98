"""The one-command launcher with the demo: everything starts, the demo batch runs, Ctrl-C leaves nothing behind."""

import contextlib
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from django.db import connection

from runs.models import ACTIVE_STATUSES, Run, Status
from tests.runner_helpers import wait_for

pytestmark = pytest.mark.django_db(transaction=True)
ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "demo-admin-password-for-tests"  # pragma: allowlist secret


def database_url() -> str:
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    return f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


def children_of(pid: int) -> set[int]:
    found = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        found |= {int(child) for child in (task / "children").read_text().split()}
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "State:\tZ" not in state


def free_ports(count: int) -> int:
    """The first of ``count`` consecutive free loopback ports, below Linux's ephemeral range (32768 and up).

    The demo apps listen on --demo-port and the port after it. A port the kernel hands out (bind to port 0,
    an outgoing connection) is always in the ephemeral range, so another test process cannot take one of
    these between this check and the launcher's own bind, as it could the port after a free_port().
    """
    for _ in range(200):
        first = random.randrange(20000, 32768 - count)
        try:
            with contextlib.ExitStack() as held:
                for port in range(first, first + count):
                    sock = held.enter_context(socket.socket())
                    sock.bind(("127.0.0.1", port))
            return first
        except OSError:
            continue
    raise RuntimeError(f"No {count} consecutive free ports between 20000 and 32768.")


def launch(tmp_path, *options, port=None, first=None) -> subprocess.Popen:
    """The launcher on free ports, on the test database, with an embedded Redis of its own."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("CHOWDA_")}
    env |= {
        "CHOWDA_SECRET_KEY": "launcher-test-secret-key-not-used-elsewhere",  # pragma: allowlist secret
        "CHOWDA_DATABASE_URL": database_url(),
        "CHOWDA_SECURE_COOKIES": "false",
        "CHOWDA_MEDIA_ROOT": str(tmp_path / "mmif"),
        "CHOWDA_STATIC_ROOT": str(tmp_path / "static"),
        "CHOWDA_ADMIN_PASSWORD": PASSWORD,
    }
    first = first or free_ports(4)  # Daphne (unless given), Redis, and the two demo apps
    command = [
        sys.executable, "manage.py", "launch", *options, "--port", str(port or first),
        "--redis-port", str(first + 1), "--demo-port", str(first + 2), "--data-dir", str(tmp_path / "var"),
        "--concurrency", "4",
    ]  # fmt: skip
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def read_until(launcher: subprocess.Popen, text: str) -> str:
    output = []
    for line in launcher.stdout:
        output.append(line)
        if text in line:
            break
    return "".join(output)


@pytest.mark.usefixtures("paused_dispatcher")  # the session worker's dispatcher would take the demo's runs
def test_the_demo_starts_runs_and_stops_cleanly(tmp_path):
    port = free_ports(4)
    launcher = launch(tmp_path, "--demo", first=port)
    base = f"http://127.0.0.1:{port}"
    try:
        printed = read_until(launcher, "Chowda is running")
        assert "Chowda is running" in printed, printed
        for service in (
            "Redis (embedded)",
            "Demo segmenter",
            "Demo summarizer",
            "Daphne",
            "Celery worker",
            "Celery beat",
        ):
            assert service in printed
        live_path = re.search(r"/batches/(\d+)/live/", printed).group(0)
        health = requests.get(f"{base}/healthz", timeout=5)
        assert health.status_code == 200, health.text

        session = requests.Session()
        session.get(f"{base}/admin/login/")
        session.post(
            f"{base}/admin/login/",
            data={"username": "admin", "password": PASSWORD, "csrfmiddlewaretoken": session.cookies["csrftoken"]},
            headers={"Referer": f"{base}/admin/login/"},
        )
        started = session.post(
            f"{base}{live_path.replace('/live/', '/start/')}",
            data={"csrfmiddlewaretoken": session.cookies["csrftoken"]},
            headers={"Accept": "application/json", "Referer": f"{base}{live_path}"},
        )
        assert started.json() == {"message": "Started 6 file(s)."}
        wait_for(lambda: Run.objects.exists() and not Run.objects.filter(status__in=ACTIVE_STATUSES).exists(), 60)
        runs = {run.media_file.guid: run for run in Run.objects.select_related("media_file")}
        broken = runs.pop("demo-broken")
        assert {run.status for run in runs.values()} == {Status.SUCCEEDED}
        assert broken.status == Status.FAILED
        assert "Cannot read" in broken.error and "broken.wav" in broken.error
        # The demo delivers to its own folder (docs/deliverables.md): mark the finals, deliver their captions.
        batch_id = live_path.split("/")[2]
        api_headers = {"X-CSRFToken": session.cookies["csrftoken"], "Referer": f"{base}/"}
        session.post(f"{base}/api/batches/{batch_id}/mark-final/", headers=api_headers)
        delivered = session.post(
            f"{base}/api/batches/{batch_id}/deliver/",
            json={"destination": "demo", "kinds": ["vtt"]},
            headers=api_headers,
        )
        assert delivered.status_code == 202, delivered.text
        manifest = tmp_path / "var" / "deliveries" / f"batch-{batch_id}" / "manifest.json"
        wait_for(manifest.exists, 20, "the demo delivery's manifest")
        assert len(json.loads(manifest.read_text())["files"]) == 5

        children = children_of(launcher.pid)
        assert len(children) == 6  # Daphne, the worker, beat, the two demo apps and the embedded Redis
        launcher.send_signal(signal.SIGINT)
        assert launcher.wait(timeout=15) == 0
        assert not [pid for pid in children if alive(pid)]
    finally:
        if launcher.poll() is None:
            launcher.kill()
            launcher.wait()


@pytest.mark.usefixtures("paused_dispatcher")
def test_a_service_that_dies_stops_the_others_and_is_named(tmp_path):
    launcher = launch(tmp_path)
    try:
        assert "Chowda is running" in read_until(launcher, "Chowda is running")
        children = children_of(launcher.pid)
        worker = next(pid for pid in children if b"worker" in Path(f"/proc/{pid}/cmdline").read_bytes())

        os.kill(worker, signal.SIGKILL)

        assert launcher.wait(timeout=15) == 1
        rest = launcher.stdout.read()
        assert "Celery worker stopped unexpectedly (exit code -9); stopping the others." in rest
        assert not [pid for pid in children if alive(pid)]
    finally:
        if launcher.poll() is None:
            launcher.kill()
            launcher.wait()


def test_a_port_in_use_is_named_and_nothing_is_left_running(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        launcher = launch(tmp_path, port=port)
        output = launcher.stdout.read()
        code = launcher.wait(timeout=30)

    assert code != 0
    assert f"Daphne cannot listen on 127.0.0.1:{port}: the port is in use by another program." in output
    assert "Redis (embedded)" in output  # it had started, and was stopped again
    assert not [
        line
        for line in subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout.splitlines()
        if str(tmp_path) in line
    ]
