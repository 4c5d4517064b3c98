"""Acceptance in a real browser: the demo apps run a batch through the real worker, each succeeded step is indexed
in the background with nobody asking, then a viewer searches a word the demo summarizer writes ("silence"), sees
the summary's sentence with the word marked beside the segmenter's silences, clicks a silence, and the findings
viewer's audio player is at that moment."""

import pytest
from playwright.sync_api import expect, sync_playwright

from search.models import Finding, IndexedStep
from tests.runner_helpers import wait_for
from tests.test_findings_browser import demo_apps, demo_batch_run, log_in, person, served_media  # noqa: F401

# The fixtures above are the findings viewer's (the demo apps served, their WAV files where the player reads them);
# taken by name from ``request`` so that their names are not shadowed here.
from tests.test_live_browser import CHROMIUM, CHROMIUM_FLAGS

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("celery_worker")]


def test_a_viewer_searches_a_word_of_the_summary_and_the_player_opens_at_the_hit(request):
    wavs = request.getfixturevalue("served_media")  # before Daphne starts, which reads where they are
    daphne = request.getfixturevalue("daphne")
    run = demo_batch_run(request.getfixturevalue("demo_apps"), wavs)
    wait_for(
        lambda: IndexedStep.objects.filter(step__run=run).count() == 2,
        timeout=60,
        message="both steps of the run to be indexed by the background queue",
    )
    summary = Finding.objects.get(run=run, annotation_type="TextDocument")
    assert "silence" in summary.text and summary.app == "Demo Time Frame Summarizer"
    person("viewer", "Viewers")

    # Playwright runs an event loop in this thread, so the database is only touched by other processes below.
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        page = browser.new_page()
        log_in(page, daphne.url, "viewer", "/search/")
        page.fill("#id_q", "silence")
        page.click("#search-form input[type=submit]")

        expect(page.locator("#totals")).to_contain_text("in 1 file")
        found = page.locator(".file-hits[data-guid=demo-two-tones]")
        expect(found.locator(".hit[data-kind=text] .snippet mark").first).to_have_text("silence")
        silences = found.locator(".hit[data-kind=label]", has_text="silence")
        expect(silences).to_have_count(2)
        later = silences.nth(1)
        start = float(later.get_attribute("data-start"))
        assert start == pytest.approx(2.3, abs=0.05)  # sound 0 to 1 s, silence, sound 1.5 to 2.3 s, silence
        later.locator("a.moment").click()

        expect(page.locator("#source")).to_have_value("step-1")
        page.wait_for_function("document.getElementById('player').readyState >= 1", timeout=15000)
        page.wait_for_function(
            f"Math.abs(document.getElementById('player').currentTime - {start}) < 0.05", timeout=15000
        )
        browser.close()
