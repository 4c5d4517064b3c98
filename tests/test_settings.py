"""The development secret key: fine for tooling, refused by every server while debug is off."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
REFUSED = "will not start with the development secret key while CHOWDA_DEBUG is off"


def run(*command, **env):
    clean = {k: v for k, v in os.environ.items() if not k.startswith("CHOWDA_")}
    return subprocess.run(
        command,
        env={**clean, "DJANGO_SETTINGS_MODULE": "chowda_site.settings", **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize("server", ["chowda_site.asgi", "chowda_site.wsgi"])
def test_the_web_server_refuses_the_development_key_when_debug_is_off(server):
    result = run(sys.executable, "-c", f"import {server}")

    assert result.returncode != 0
    assert REFUSED in result.stderr


def test_a_worker_refuses_the_development_key_when_debug_is_off():
    celery = str(Path(sys.executable).parent / "celery")
    result = run(celery, "-A", "chowda_site", "worker", "--pool", "threads", CHOWDA_REDIS_URL="redis://127.0.0.1:1/0")

    assert result.returncode == 1
    assert REFUSED in result.stderr


def test_the_launcher_refuses_it_before_starting_anything():
    result = run(sys.executable, "manage.py", "launch")

    assert result.returncode != 0
    assert REFUSED in result.stderr
    assert "Starting Chowda" not in result.stdout


def test_the_deploy_check_reports_it():
    result = run(sys.executable, "manage.py", "check", "--deploy")

    assert "(chowda.E001)" in result.stderr


def test_tooling_works_with_the_development_key():
    assert run(sys.executable, "manage.py", "makemigrations", "--check", "--dry-run").returncode == 0
    assert run(sys.executable, "manage.py", "check").returncode == 0


@pytest.mark.parametrize(
    "env",
    [{"CHOWDA_SECRET_KEY": "a-real-secret-from-the-environment"}, {"CHOWDA_DEBUG": "true"}],  # pragma: allowlist secret
)
def test_the_web_server_starts_with_a_real_key_or_in_debug(env):
    started = run(sys.executable, "-c", "import chowda_site.asgi", CHOWDA_REDIS_URL="redis://127.0.0.1:1/0", **env)

    assert started.returncode == 0, started.stderr
