"""While the launcher runs, commands in other terminals find its Redis: it records it in its data folder, prints
the line other tools export, refuses a second launcher on the same folder, and removes the record when it stops."""

import os
import re
import signal
import subprocess
import sys

import pytest

from tests.test_launcher import ROOT, launch, read_until

pytestmark = pytest.mark.django_db(transaction=True)


def redis_url_in_another_terminal(var_dir) -> str:
    """settings.REDIS_URL as a command started from a folder whose var/ is ``var_dir`` sees it."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("CHOWDA_")}
    env |= {"DJANGO_SETTINGS_MODULE": "chowda_site.settings", "CHOWDA_VAR_DIR": str(var_dir)}
    printed = subprocess.run(
        [sys.executable, "-c", "from django.conf import settings; print(settings.REDIS_URL)"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return printed.stdout.strip()


@pytest.mark.usefixtures("paused_dispatcher")  # the session worker's dispatcher shares the test database
def test_the_launcher_records_its_redis_while_it_runs_and_removes_the_record_when_stopped(tmp_path):
    var_dir = tmp_path / "var"
    launcher = launch(tmp_path)
    try:
        printed = read_until(launcher, "Chowda is running")
        embedded = re.search(r"Redis \(embedded\)\s+(\S+)", printed).group(1)

        assert redis_url_in_another_terminal(var_dir) == embedded
        assert launcher.stdout.readline().strip() == (
            f"Other tools and folders reach it with: export CHOWDA_REDIS_URL={embedded}"
        )
        second = launch(tmp_path)
        refused = second.stdout.read()
        assert second.wait(timeout=60) != 0
        assert f"Chowda is already running from {var_dir} (launcher pid {launcher.pid})" in refused
        assert "Starting Chowda" not in refused

        launcher.send_signal(signal.SIGINT)
        assert launcher.wait(timeout=15) == 0
        assert not (var_dir / "launcher.json").exists()
        assert redis_url_in_another_terminal(var_dir) == ""
    finally:
        if launcher.poll() is None:  # Ctrl-C first, so that it stops its services too
            launcher.send_signal(signal.SIGINT)
            try:
                launcher.wait(timeout=15)
            except subprocess.TimeoutExpired:
                launcher.kill()
                launcher.wait()
