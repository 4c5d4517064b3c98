"""In a real browser, against Daphne and a real worker: a curator uploads a gold zip, starts an evaluation from the
batch's page, reads the per-label table once the background queue has scored it, and opens the worst file's viewer
with the gold as its own row on the timeline."""

import pytest
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.contrib.auth.models import Group
from playwright.sync_api import expect, sync_playwright

from tests.evaluation_helpers import gold_zip, tagged_batch
from tests.factories import UserFactory
from tests.test_live_browser import CHROMIUM, CHROMIUM_FLAGS, PASSWORD

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("celery_worker")]


def test_a_curator_evaluates_a_batch_against_an_uploaded_gold_zip(daphne, idle_runner_apps, tmp_path):
    curator = UserFactory(username="curator")
    type(curator).objects.filter(pk=curator.pk).update(password=PBKDF2PasswordHasher().encode(PASSWORD, "e2esalt"))
    curator.groups.add(Group.objects.get(name="Curators"))
    tuned = tagged_batch(idle_runner_apps, tmp_path)
    archive = tmp_path / "slates-gold.zip"
    archive.write_bytes(gold_zip(tuned.files).read())
    worst = tuned.files["bad"].guid

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        page = browser.new_page()
        page.goto(f"{daphne.url}/admin/login/?next=/admin/")
        page.fill("#id_username", "curator")
        page.fill("#id_password", PASSWORD)
        page.click("input[type=submit]")

        page.goto(f"{daphne.url}/admin/evaluations/goldset/add/")
        page.fill("#id_name", "Slates")
        page.select_option("#id_kind", "timeframes")
        page.set_input_files("#id_upload", str(archive))
        page.click("input[name=_save]")
        expect(page.locator(".messagelist")).to_contain_text("3 gold file(s) stored in gold set 'Slates'.")

        page.goto(f"{daphne.url}/admin/batches/batch/{tuned.batch.pk}/change/")
        page.click("#evaluate-batch")
        page.select_option("#id_gold_set", label="Slates")
        page.select_option("#id_metric", "timeframe_f1")
        page.fill("#id_label_map", '{"speech": "S"}')
        page.click("input[name=_save]")

        # The page follows the evaluation while the worker scores it, then shows its results.
        labels = page.locator("#per-label")
        expect(labels).to_be_visible(timeout=60000)
        # S: 2 gold frames, 2 predicted, 1 matched: F1 = 1/2. M: 1 gold frame, never predicted: F1 = 0.
        expect(labels.locator("tr[data-label='S'] .f1")).to_have_text("0.500")
        expect(labels.locator("tr[data-label='M'] .f1")).to_have_text("0.000")
        first = page.locator("#per-file tbody tr").first
        expect(first).to_have_attribute("data-guid", worst)

        first.locator("a.gold-viewer").click()
        gold = page.locator("#timeline .lane[data-view='gold']")
        expect(gold).to_contain_text("gold: Slates")
        expect(gold.locator(".bar")).to_have_count(2)
        expect(page.locator("#timeline .lane")).to_have_count(2)  # the gold, then the app's view
        browser.close()
