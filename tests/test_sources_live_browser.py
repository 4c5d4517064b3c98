"""In a real browser: a media source's page shows its sync page by page as it happens, without a reload."""

import threading

import pytest
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from playwright.sync_api import expect, sync_playwright

from sources.models import MediaSource, SourceKind
from sources.services import source_sync
from sources.sync import sync_run
from tests.feed_server import FeedServer
from tests.test_live_browser import CHROMIUM, CHROMIUM_FLAGS, PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_viewer_watches_a_sync_on_the_sources_page(daphne, viewer):
    type(viewer).objects.filter(pk=viewer.pk).update(password=PBKDF2PasswordHasher().encode(PASSWORD, "e2esalt"))
    with FeedServer(page_size=2) as feed:
        feed.items = [
            {"name": f"cpb-aacip-page-{n}.mp4", "location": f"https://m.example.org/{n}.mp4"} for n in range(3)
        ]
        source = MediaSource.objects.create(name="weekly feed", kind=SourceKind.HTTP_FEED, api_url=feed.url)
        second_page = feed.hold(2)
        asked = source_sync(source, trigger="test", in_background=False)
        # Playwright runs an event loop in this thread: the sync (and its database) runs in another.
        syncing = threading.Thread(target=sync_run, args=(asked.sync.pk,))

        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
            page = browser.new_page()
            page.goto(f"{daphne.url}/admin/login/?next=/admin/sources/mediasource/{source.pk}/change/")
            page.fill("#id_username", "viewer")
            page.fill("#id_password", PASSWORD)
            page.click("input[type=submit]")
            expect(page.locator("#connection")).to_have_text("● live")
            expect(page.locator("#sync-status")).to_have_text("Waiting")
            expect(page.locator("#sync-link")).to_have_text(f"Sync {asked.sync.pk}")

            syncing.start()
            expect(page.locator("#sync-status")).to_have_text("Running")
            expect(page.locator("#sync-counts")).to_contain_text("pages: 1")
            expect(page.locator("#sync-counts")).to_contain_text("new: 2")
            second_page.set()
            expect(page.locator("#sync-status")).to_have_text("Succeeded")
            expect(page.locator("#sync-counts")).to_contain_text("new: 3")
            expect(page.locator("#sync-sentence")).to_contain_text("Synced source 'weekly feed': 3 items in 2 page(s)")
            page.click("#sync-link")
            expect(page.locator("h1")).to_contain_text("View sync")
            browser.close()
        syncing.join()
