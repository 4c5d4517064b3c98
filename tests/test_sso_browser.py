"""Single sign-on in a real browser: Chromium, Chowda under Daphne, and a real identity provider (oidc-provider)."""

from contextlib import contextmanager

import pytest
from playwright.sync_api import expect, sync_playwright

from tests.factories import BatchFactory, MediaFileFactory, PipelineFactory
from tests.live_server import Daphne
from tests.test_live_browser import CHROMIUM, CHROMIUM_FLAGS

pytestmark = pytest.mark.django_db(transaction=True)
BUTTON = "Sign in with the Archive's SSO"


@pytest.fixture
def chowda(redis_url, tmp_path, settings, identity_provider):
    """Start a Chowda (Daphne, its own process) that signs in with the identity provider: ``chowda(**variables)``."""
    settings.MEDIA_ROOT = str(tmp_path / "media")
    servers = []

    def start(**variables):
        folder = tmp_path / f"chowda-{len(servers)}"
        folder.mkdir()
        server = Daphne(redis_url, folder)
        server.env.update(identity_provider.chowda_env(server.url, **variables))
        servers.append(server)
        server.start()
        return server

    yield start
    for server in servers:
        server.stop()


@contextmanager
def chromium():
    """A browser page that reaches nothing but this machine (the provider's pages link web fonts). Playwright runs
    an event loop in this thread: the test writes to the database before, never inside."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        context = browser.new_context()
        context.route("**/*", lambda route: route.continue_() if on_this_machine(route) else route.abort())
        yield context.new_page()
        browser.close()


def on_this_machine(route) -> bool:
    return route.request.url.startswith("http://127.0.0.1:")


def sign_in(page, chowda, login, next_path="/admin/"):
    """From Chowda's login page through the provider's own login form and back."""
    page.goto(f"{chowda.url}/admin/login/?next={next_path}")
    page.get_by_role("button", name=BUTTON).click()
    expect(page.locator("input[name=login]")).to_be_visible()
    assert page.url.startswith(chowda.env["CHOWDA_OIDC_ISSUER"])
    page.fill("input[name=login]", login)
    page.fill("input[name=password]", "any password")
    page.click("button[type=submit]")


def test_a_curator_signs_in_then_the_provider_makes_them_a_viewer(chowda, identity_provider):
    batch = BatchFactory(name="Evening news", pipeline=PipelineFactory(), media_files=MediaFileFactory.create_batch(2))
    identity_provider.person("carla", ["chowda-curators"])
    server = chowda()
    with chromium() as page:
        sign_in_as_curator_then_as_viewer(page, server, identity_provider, batch)


def sign_in_as_curator_then_as_viewer(page, server, identity_provider, batch):
    sign_in(page, server, "carla", f"/batches/{batch.pk}/live/")

    expect(page).to_have_url(f"{server.url}/batches/{batch.pk}/live/")
    expect(page.locator("#connection")).to_have_text("● live")
    expect(page.locator("#start")).to_be_visible()

    # At the provider, Carla moves to the viewers; she signs out of Chowda, and of the provider.
    identity_provider.person("carla", ["staff"])
    page.goto(f"{server.url}/admin/")
    page.locator("#logout-form button").click()
    page.get_by_role("button", name="Yes, sign me out").click()
    expect(page.locator("#sso-sentence")).to_have_text("You are signed out of Chowda and of the Archive's SSO.")

    # The provider asks who she is again (its session ended too); Chowda then gives her the viewer's role.
    sign_in(page, server, "carla", f"/batches/{batch.pk}/live/")

    expect(page).to_have_url(f"{server.url}/batches/{batch.pk}/live/")
    expect(page.locator("#connection")).to_have_text("● live")
    expect(page.locator("#start")).to_have_count(0)
    page.goto(f"{server.url}/admin/batches/batch/{batch.pk}/change/")
    expect(page.locator("input[name=_save]")).to_have_count(0)
    expect(page.locator("#content h1")).to_have_text("View batch")


def test_someone_without_a_mapped_group_sees_the_no_role_page(chowda, identity_provider):
    identity_provider.person("nora", ["interns"])
    server = chowda(CHOWDA_OIDC_CONTACT="the archive's IT desk")
    with chromium() as page:
        sign_in(page, server, "nora")

        expect(page).to_have_url(f"{server.url}/sso/no-role/")
        expect(page.locator("#sso-sentence")).to_contain_text("You are signed in as Nora, but the Archive's SSO gives")
        expect(page.locator("#sso-sentence")).to_contain_text("Ask the archive's IT desk to add you")
        expect(page.locator("#sso-sign-out")).to_be_visible()


def test_a_wrong_client_secret_shows_a_sentence_not_an_error_page(chowda, identity_provider):
    identity_provider.person("sam", ["chowda-curators"])
    secret = "not-the-secret-the-provider-gave"  # pragma: allowlist secret
    server = chowda(CHOWDA_OIDC_CLIENT_SECRET=secret)
    with chromium() as page:
        answers = []
        page.on("response", lambda response: answers.append((response.url.split("?")[0], response.status)))

        sign_in(page, server, "sam")

        expect(page.locator("#sso-sentence")).to_contain_text(
            "The identity provider refused Chowda's client ID or secret"
        )
        assert (f"{server.url}/sso/callback/", 502) in answers
        assert [answer for answer in answers if answer[1] >= 500] == [(f"{server.url}/sso/callback/", 502)]
        assert secret not in page.content()
    assert secret not in server.log.read_text()
