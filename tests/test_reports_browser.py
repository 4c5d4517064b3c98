"""In a real browser, against Daphne and a real worker: a curator downloads a batch's report and opens the
app statistics, and sees the batch among the active ones on the admin's first page while it runs."""

import csv
import io

import pytest
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.contrib.auth.models import Group
from playwright.sync_api import expect, sync_playwright

from runs.services import batch_start
from tests.factories import BatchFactory, MediaFileFactory, PipelineFactory, PipelineStepFactory, UserFactory
from tests.runner_helpers import register, wait_until_finished
from tests.test_live_browser import CHROMIUM, CHROMIUM_FLAGS, PASSWORD

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("celery_worker")]


def test_a_viewer_sees_active_batches_downloads_the_report_and_opens_app_statistics(daphne, runner_apps):
    for _url, behaviour in runner_apps.values():
        behaviour.reset()
    first = runner_apps["first"][1]
    viewer = UserFactory(username="viewer")
    type(viewer).objects.filter(pk=viewer.pk).update(password=PBKDF2PasswordHasher().encode(PASSWORD, "e2esalt"))
    viewer.groups.add(Group.objects.get(name="Viewers"))
    pipeline = PipelineFactory(name="One tagger")
    PipelineStepFactory(pipeline=pipeline, position=1, app=register(runner_apps, "first"), parameters={"label": "x"})
    batch = BatchFactory(name="Evening news", pipeline=pipeline, media_files=MediaFileFactory.create_batch(3))

    # The app holds the batch's first file until the browser has seen the batch running: on a busy machine,
    # launching Chromium and checking the password took longer than the three files did.
    first.hold()
    try:
        batch_start(batch)
        # Playwright runs an event loop in this thread: the database is touched here only outside its blocks.
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
            page = log_in(browser, daphne.url)
            active = page.locator(f"#active-batches tr[data-batch='{batch.pk}']")
            expect(active).to_contain_text("Evening news", timeout=15000)
            expect(active.locator(".progress")).to_be_visible()
            browser.close()
    finally:
        first.release()
    wait_until_finished(batch)

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        page = log_in(browser, daphne.url)
        expect(page.locator("#active-batches")).to_contain_text("No batch is running now.")
        page.goto(f"{daphne.url}/admin/batches/batch/{batch.pk}/change/")
        page.click("#batch-report")
        expect(page.locator("#result_list tbody tr")).to_have_count(3)
        with page.expect_download() as download:
            page.click("#report-csv")
        with open(download.value.path()) as report:
            rows = list(csv.DictReader(io.StringIO(report.read())))
        assert [row["status"] for row in rows] == ["succeeded"] * 3
        assert all(row["step 1 first: annotations per view"].endswith(": 1 TimeFrame") for row in rows)

        page.goto(f"{daphne.url}/admin/")
        page.click("text=App statistics")
        row = page.locator("#result_list tbody tr[data-app='first']")
        expect(row).to_contain_text("100 %")
        expect(row.locator("svg.app-chart")).to_be_visible()
        browser.close()


def log_in(browser, url):
    page = browser.new_page(accept_downloads=True)
    page.goto(f"{url}/admin/login/?next=/admin/")
    page.fill("#id_username", "viewer")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    return page
