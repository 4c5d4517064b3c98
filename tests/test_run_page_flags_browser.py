"""In a real browser, the live run page says when an app found nothing, names its view by the app's metadata, and
offers deliverables only once the run has a final MMIF."""

import pytest
from playwright.sync_api import expect, sync_playwright

from batches.models import DocumentType
from runs.models import Status
from runs.services import batch_start
from tests.factories import BatchFactory, MediaFileFactory, PipelineFactory, PipelineStepFactory
from tests.runner_helpers import register, wait_until_finished
from tests.test_findings_browser import CHROMIUM, CHROMIUM_FLAGS, log_in, person

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("celery_worker")]


def run_one_file(runner_apps, app_name, media_file, parameters=None):
    pipeline = PipelineFactory()
    app = register(runner_apps, app_name)
    PipelineStepFactory(pipeline=pipeline, position=1, app=app, parameters=parameters or {})
    batch = BatchFactory(pipeline=pipeline, media_files=[media_file])
    batch_start(batch)
    [run] = wait_until_finished(batch)
    return run


def test_a_curator_sees_found_nothing_and_no_deliverables_where_there_are_none(idle_runner_apps, daphne):
    audio = MediaFileFactory(document_type=DocumentType.AUDIO, mime_type="audio/wav", location="file:///media/t.wav")
    found_nothing = run_one_file(idle_runner_apps, "tones", audio)
    failed = run_one_file(idle_runner_apps, "first", MediaFileFactory(), {"explode": True})
    assert (found_nothing.status, failed.status) == (Status.SUCCEEDED, Status.FAILED)
    person("curator", "Curators")

    # Playwright runs an event loop in this thread, so the database is only touched by other processes below.
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        page = browser.new_page()
        log_in(page, daphne.url, "curator", f"/runs/{found_nothing.pk}/live/")

        expect(page.locator("#steps tr td").nth(1)).to_have_text("● succeeded, found nothing")
        expect(page.locator("#steps .found-nothing")).to_contain_text("The app succeeded but found nothing")
        expect(page.locator("#steps", has_text="Test Tones: no annotations")).to_be_visible()
        expect(page.locator("#deliverables-links")).to_be_visible()

        page.goto(f"{daphne.url}/runs/{failed.pk}/live/")
        expect(page.locator("#run-status")).to_have_text("✖ failed")
        expect(page.locator("#deliverables-links")).to_be_hidden()
        expect(page.locator("#no-deliverables")).to_have_text(
            "None: the run did not succeed, so it has no final MMIF to make them from."
        )
        browser.close()
