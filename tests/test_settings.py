import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def start(**env):
    clean = {k: v for k, v in os.environ.items() if not k.startswith("CHOWDA_")}
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        env={**clean, "DJANGO_SETTINGS_MODULE": "chowda_site.settings", **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
    )


def test_it_refuses_the_development_secret_key_when_debug_is_off():
    result = start()

    assert result.returncode != 0
    assert "will not start with the development secret key while CHOWDA_DEBUG is off" in result.stderr


def test_it_starts_with_a_secret_key_from_the_environment():
    assert start(CHOWDA_SECRET_KEY="a-real-secret-from-the-environment").returncode == 0  # pragma: allowlist secret


def test_debug_allows_the_development_key():
    assert start(CHOWDA_DEBUG="true").returncode == 0
