"""Acceptance in a real browser: after the demo batch ran through the real worker, a curator marks its files'
MMIF final from the admin, finds them with the media list's filter, delivers the batch with its WebVTT captions
to the operator's folder, and sees the delivery recorded."""

import pytest
from playwright.sync_api import expect, sync_playwright

from tests.deliverables_helpers import demo_apps, demo_media, run_demo_batch  # noqa: F401  (fixtures)
from tests.test_findings_browser import log_in, person
from tests.test_live_browser import CHROMIUM, CHROMIUM_FLAGS

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("celery_worker")]


@pytest.fixture
def delivery_folder(monkeypatch, settings, tmp_path):
    """The folder destination "catalog", for Daphne (configured from the environment before it starts) and for
    the session's worker in this process, which carries the delivery out."""
    folder = tmp_path / "deliveries"
    monkeypatch.setenv("CHOWDA_DELIVERY_DESTINATIONS", f"catalog={folder}")
    settings.DELIVERY_DESTINATIONS = {"catalog": str(folder)}
    return folder


def choose_action(page, batch_name: str, action: str) -> None:
    page.locator("#result_list tr", has_text=batch_name).locator("input.action-select").check()
    page.select_option("select[name=action]", action)
    page.click("button[name=index]")


@pytest.fixture
def ran_batch(demo_apps, demo_media):  # noqa: F811
    batch, _runs = run_demo_batch(demo_apps, demo_media, name="Demo delivery")
    return batch


def see_the_delivery_finish(page, url: str, row) -> None:
    """Reload the deliveries list until the worker has finished the delivery (the list does not update itself)."""
    for _ in range(100):
        page.goto(url)
        if row.locator("td.field-finished_at").inner_text() != "-":
            return
        page.wait_for_timeout(100)
    raise AssertionError("The delivery did not finish within 10 s.")


def test_a_curator_marks_finals_and_delivers_the_batch_from_the_admin(delivery_folder, daphne, ran_batch):
    batch = ran_batch
    person("curator", "Curators")

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        page = browser.new_page()
        log_in(page, daphne.url, "curator", "/admin/batches/batch/")

        choose_action(page, "Demo delivery", "mark_batches_final")
        expect(page.locator("ul.messagelist")).to_contain_text("Demo delivery: Marked the MMIF of 2 file(s) as final.")

        page.goto(f"{daphne.url}/admin/batches/mediafile/?final_mmif=yes")
        expect(page.locator("#result_list tbody tr")).to_have_count(2)

        page.goto(f"{daphne.url}/admin/batches/batch/")
        choose_action(page, "Demo delivery", "deliver_batches")
        page.select_option("#id_destination", "catalog")
        page.check("input[name=kinds][value=vtt]")
        page.get_by_role("button", name="Deliver", exact=True).click()
        expect(page.locator("ul.messagelist")).to_contain_text("Demo delivery: Delivering the 2 file(s) of the batch")

        row = page.locator("#result_list tbody tr")
        see_the_delivery_finish(page, f"{daphne.url}/admin/deliverables/delivery/", row)
        expect(row).to_have_count(1)
        expect(row).to_contain_text("Demo delivery")
        expect(row.locator("td.field-files_delivered")).to_have_text("2")
        expect(row.locator("td.field-failure_count")).to_have_text("0")
        browser.close()

    delivered = sorted(p.name for p in (delivery_folder / f"batch-{batch.pk}").iterdir())
    assert delivered == [
        "demo-beep.mmif",
        "demo-beep.vtt",
        "demo-two-tones.mmif",
        "demo-two-tones.vtt",
        "manifest.json",
    ]
