"""End to end in a real browser: Daphne, a real worker, real CLAMS apps, and Chromium driven by Playwright."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from django.conf import settings
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.contrib.auth.models import Group
from django.db import connection
from playwright.sync_api import expect, sync_playwright

from chowda_site.redis_server import free_port
from tests.factories import BatchFactory, MediaFileFactory, PipelineFactory, PipelineStepFactory, UserFactory
from tests.runner_helpers import register, wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("celery_worker")]
ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
PASSWORD = "correct horse battery staple"  # pragma: allowlist secret


def database_url() -> str:
    """The URL of the test database, so the server process reads what the test writes."""
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    return f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


class Daphne:
    """Chowda served by Daphne in its own process, on the test database, the test Redis and the test media."""

    def __init__(self, redis_url: str, static_root: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "chowda_site.settings",
            "CHOWDA_SECRET_KEY": settings.SECRET_KEY,
            "CHOWDA_DATABASE_URL": database_url(),
            "CHOWDA_REDIS_URL": redis_url,
            "CHOWDA_REDIS_KEY_PREFIX": settings.REDIS_KEY_PREFIX,
            "CHOWDA_MEDIA_ROOT": str(settings.MEDIA_ROOT),
            "CHOWDA_STATIC_ROOT": str(static_root),
            "CHOWDA_SECURE_COOKIES": "false",
        }
        self.manage("collectstatic", "--noinput", "-v0")
        self.process = None

    def manage(self, *args: str) -> None:
        subprocess.run([sys.executable, "manage.py", *args], env=self.env, cwd=ROOT, check=True)

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(self.port), "chowda_site.asgi:application"],
            env=self.env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for(self._answers, timeout=30, message="Daphne to answer")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)

    def _answers(self) -> bool:
        try:
            return requests.get(f"{self.url}/admin/login/", timeout=1).status_code == 200
        except requests.ConnectionError:
            return False


@pytest.fixture
def daphne(redis_url, tmp_path, settings):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    server = Daphne(redis_url, tmp_path / "static")
    server.start()
    yield server
    server.stop()


def test_a_curator_starts_a_batch_and_watches_it_finish_without_reloading(daphne, runner_apps):
    for _url, behaviour in runner_apps.values():
        behaviour.reset()
    runner_apps["second"][1].delay = 0.3  # slow enough to be seen running
    curator = UserFactory(username="curator")
    # Hashed the way the server (real settings) checks it; the tests' own hasher is a fast one.
    type(curator).objects.filter(pk=curator.pk).update(password=PBKDF2PasswordHasher().encode(PASSWORD, "e2esalt"))
    curator.groups.add(Group.objects.get(name="Curators"))
    pipeline = PipelineFactory(name="Two taggers")
    PipelineStepFactory(pipeline=pipeline, position=1, app=register(runner_apps, "first"))
    PipelineStepFactory(pipeline=pipeline, position=2, app=register(runner_apps, "second"))
    batch = BatchFactory(name="Evening news", pipeline=pipeline, media_files=MediaFileFactory.create_batch(3))
    MediaFileFactory(guid="cpb-aacip-late")

    # Playwright runs an event loop in this thread, so the database is only touched by other processes below.
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        page = browser.new_page()
        log_in(page, daphne.url, f"/batches/{batch.pk}/live/")
        watch_the_batch_finish(page)
        see_it_resync_after_a_restart(page, daphne, batch.pk)
        see_the_run_timeline(page)
        browser.close()


def log_in(page, url, next_path):
    page.goto(f"{url}/admin/login/?next={next_path}")
    page.fill("#id_username", "curator")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")


def watch_the_batch_finish(page):
    expect(page.locator("#connection")).to_have_text("● live")
    expect(page.locator("tr[data-status=not_started]")).to_have_count(3)
    page.evaluate("window.notReloaded = true")

    page.click("#start")

    expect(page.locator("#action-result")).to_have_text("Started 3 file(s).")
    expect(page.locator("td.step[data-status=running]").first).to_be_visible(timeout=15000)
    expect(page.locator("tr[data-status=succeeded]")).to_have_count(3, timeout=30000)
    expect(page.locator("td.step[data-status=succeeded]")).to_have_count(6)
    expect(page.locator("[data-count=succeeded]")).to_have_text("3 succeeded")
    expect(page.locator("#elapsed")).not_to_have_text("not started")
    assert page.evaluate("window.notReloaded") is True


def see_it_resync_after_a_restart(page, daphne, batch_id):
    daphne.stop()
    expect(page.locator("#connection")).to_have_text("○ reconnecting…")
    # While the page is cut off, the batch changes: it must show that once it is back.
    daphne.manage(
        "shell",
        "-c",
        "from batches.models import Batch, MediaFile; "
        f"Batch.objects.get(pk={batch_id}).media_files.add(MediaFile.objects.get(guid='cpb-aacip-late'))",
    )
    daphne.start()

    expect(page.locator("#connection")).to_have_text("● live", timeout=20000)
    expect(page.locator("tr[data-status=not_started]")).to_have_count(1)
    expect(page.locator("[data-count=not_started]")).to_have_text("1 not started")
    assert page.evaluate("window.notReloaded") is True


def see_the_run_timeline(page):
    page.locator("tr[data-status=succeeded] a").first.click()

    expect(page.locator("#run-status")).to_have_text("● succeeded")
    expect(page.locator("#steps tr")).to_have_count(2)
    expect(page.locator("#steps .timeline div")).to_have_count(2)
    expect(page.locator("#steps a", has_text="output")).to_have_count(2)
    expect(page.locator("#steps", has_text="1 TimeFrame").first).to_be_visible()
