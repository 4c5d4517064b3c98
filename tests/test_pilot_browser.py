"""Acceptance in a real browser: a curator starts a pilot of two demo files with the segmenter's threshold
overridden, starts the same two files with the pipeline's own threshold in a copy of the batch, and compares
what the real demo apps found, side by side."""

import pytest
from playwright.sync_api import expect, sync_playwright

from tests.deliverables_helpers import demo_apps, demo_files, demo_media, demo_pipeline  # noqa: F401  (fixtures)
from tests.factories import BatchFactory
from tests.runner_helpers import wait_until_finished
from tests.test_deliver_browser import choose_action
from tests.test_findings_browser import log_in, person
from tests.test_live_browser import CHROMIUM, CHROMIUM_FLAGS

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("celery_worker")]

STEMS = ("beep", "two-tones", "morse-ok")


def start_pilot(page, url: str, batch_name: str, override: str = "") -> None:
    page.goto(f"{url}/admin/batches/batch/")
    choose_action(page, batch_name, "start")
    page.check("input[name=files][value=first]")
    page.fill("#id_size", "2")
    page.fill("#id_step_1", override)
    page.click("input[name=confirm]")


def test_a_curator_pilots_an_override_and_compares_it_with_the_pipelines_own_threshold(
    daphne,
    demo_apps,  # noqa: F811
    demo_media,  # noqa: F811
):
    pipeline = demo_pipeline(demo_apps)
    files = demo_files(demo_media, STEMS)
    pilot = BatchFactory(name="Pilot", pipeline=pipeline, media_files=files)
    default = BatchFactory(name="Default", pipeline=pipeline, media_files=files)
    person("curator", "Curators")

    # Playwright runs an event loop in this thread: the database is read between the two browser sessions.
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        page = browser.new_page()
        log_in(page, daphne.url, "curator", "/admin/batches/batch/")

        start_pilot(page, daphne.url, "Pilot", '{"threshold": 1.5}')
        expect(page.locator("ul.messagelist")).to_contain_text(
            "Pilot: Started 2 file(s) as a pilot (the first 2 by GUID); 1 more wait for the next Start, "
            "with parameters of step 1 overridden for this start."
        )
        start_pilot(page, daphne.url, "Default")
        expect(page.locator("ul.messagelist")).to_contain_text("Default: Started 2 file(s) as a pilot")
        browser.close()

    wait_until_finished(pilot, timeout=60)
    wait_until_finished(default, timeout=60)

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        page = browser.new_page()
        log_in(page, daphne.url, "curator", f"/batches/{pilot.pk}/live/")
        page.click("#compare-batches")
        page.select_option("#with", str(default.pk))
        page.click("input[value=Compare]")

        expect(page.locator("#parameters tr.left")).to_contain_text(["1.5"])
        expect(page.locator("#files tbody tr")).to_have_count(2)
        sound = page.locator("#comparison tr", has_text="sound")
        expect(sound.locator("td.count").first).to_have_text("0")  # nothing reaches a threshold above full scale
        expect(sound.locator("td.count").last).not_to_have_text("0")
        expect(sound).to_have_class("differs")
        browser.close()
