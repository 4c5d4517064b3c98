"""End to end in a real browser: Daphne, a real worker, real CLAMS apps, and Chromium driven by Playwright."""

import pytest
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.contrib.auth.models import Group
from playwright.sync_api import expect, sync_playwright

from tests.factories import BatchFactory, MediaFileFactory, PipelineFactory, PipelineStepFactory, UserFactory
from tests.runner_helpers import register

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("celery_worker")]
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
        page.add_init_script(COUNT_SOCKETS)
        log_in(page, daphne.url, f"/batches/{batch.pk}/live/")
        see_it_stay_connected_while_quiet(page)
        watch_the_batch_finish(page)
        see_it_resync_after_a_restart(page, daphne, batch.pk)
        see_the_run_timeline(page)
        browser.close()


QUIET_SECONDS = 20
# Counts, in the page, every websocket it opens and every snapshot it receives.
COUNT_SOCKETS = """
window.socketsOpened = 0;
window.snapshotsReceived = 0;
const NativeWebSocket = window.WebSocket;
window.WebSocket = function (...args) {
  const socket = new NativeWebSocket(...args);
  window.socketsOpened += 1;
  socket.addEventListener("message", (message) => {
    if (JSON.parse(message.data).type === "snapshot") window.snapshotsReceived += 1;
  });
  return socket;
};
window.WebSocket.prototype = NativeWebSocket.prototype;
"""


def log_in(page, url, next_path):
    page.goto(f"{url}/admin/login/?next={next_path}")
    page.fill("#id_username", "curator")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")


def see_it_stay_connected_while_quiet(page):
    expect(page.locator("#connection")).to_have_text("● live")
    page.wait_for_function("window.snapshotsReceived === 1")

    page.wait_for_timeout(QUIET_SECONDS * 1000)

    expect(page.locator("#connection")).to_have_text("● live")
    assert page.evaluate("[window.socketsOpened, window.snapshotsReceived]") == [1, 1]


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
