"""In a real browser: a running step's bar and "about N min left (estimate)" move on between events,
and an app that reports its progress shows its own figure instead."""

import pytest
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.contrib.auth.models import Group
from django.utils import timezone
from playwright.sync_api import expect, sync_playwright

from clams_apps.services import app_register
from runs.models import Run, Status, StepRun
from tests.factories import BatchFactory, MediaFileFactory, PipelineFactory, PipelineStepFactory, UserFactory
from tests.progress_test_app import SlowSegmenter, serve_reporting
from tests.runner_helpers import register, wait_for, wait_until_finished
from tests.test_live_browser import CHROMIUM, CHROMIUM_FLAGS, PASSWORD

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("celery_worker")]


def history(app, seconds: float, n: int = 3):
    """``n`` finished steps of ``app`` that took ``seconds`` each: what the estimate is taken from."""
    run = Run.objects.create(batch=BatchFactory(), media_file=MediaFileFactory(), status=Status.SUCCEEDED)
    StepRun.objects.bulk_create(
        StepRun(
            run=run,
            position=i + 1,
            app=app,
            app_name=app.name,
            app_version=app.metadata.get("app_version", ""),
            status=Status.SUCCEEDED,
            duration=seconds,
            finished_at=timezone.now(),
        )
        for i in range(n)
    )


def one_file_batch(app, name):
    pipeline = PipelineFactory()
    PipelineStepFactory(pipeline=pipeline, position=1, app=app, parameters={})
    media = MediaFileFactory(location=f"file:///media/{name}.wav", mime_type="audio/wav", document_type="audio")
    return BatchFactory(name=name, pipeline=pipeline, media_files=[media])


@pytest.fixture
def slow_app():
    app = SlowSegmenter()
    served = serve_reporting(app)
    yield app, served.url
    app.release.set()
    served.stop()


def fraction(locator) -> float:
    return float(locator.get_attribute("data-fraction"))


def test_a_running_step_shows_a_moving_estimate_or_the_apps_own_figure(daphne, runner_apps, slow_app):
    for _url, behaviour in runner_apps.values():
        behaviour.reset()
    runner_apps["first"][1].delay = 8  # long enough to watch
    curator = UserFactory(username="curator")
    type(curator).objects.filter(pk=curator.pk).update(password=PBKDF2PasswordHasher().encode(PASSWORD, "e2esalt"))
    curator.groups.add(Group.objects.get(name="Curators"))
    estimated = register(runner_apps, "first")
    history(estimated, 120.0)
    estimated_batch = one_file_batch(estimated, "estimated")
    reporting_app, url = slow_app
    reporting = app_register(url, name="slow")
    reporting_batch = one_file_batch(reporting, "reporting")

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        page = browser.new_page()
        page.goto(f"{daphne.url}/admin/login/?next=/batches/{estimated_batch.pk}/live/")
        page.fill("#id_username", "curator")
        page.fill("#id_password", PASSWORD)
        page.click("input[type=submit]")
        expect(page.locator("#connection")).to_have_text("● live")

        page.click("#start")
        progress = page.locator("td.step[data-status=running] .step-progress")
        expect(progress).to_be_visible(timeout=15000)
        expect(progress.locator(".step-left")).to_have_text("about 2 min left (estimate)")
        first = fraction(progress)
        page.wait_for_timeout(2500)  # no event comes meanwhile: the step is still running
        assert fraction(progress) > first

        page.goto(f"{daphne.url}/batches/{reporting_batch.pk}/live/")
        page.click("#start")
        wait_for(lambda: reporting_app.working_on, timeout=15, message="the reporting app to start")
        page.goto(f"{daphne.url}/batches/{reporting_batch.pk}/live/")  # a fresh snapshot asks the app
        reported = page.locator("td.step[data-status=running] .step-left")
        expect(reported).to_have_text("50 % (reported by the app): half way", timeout=15000)
        page.locator("tr[data-status=running] a").first.click()
        expect(page.locator("#steps .step-left")).to_have_text("50 % (reported by the app): half way")
        browser.close()
    reporting_app.release.set()
    wait_until_finished(estimated_batch)
    wait_until_finished(reporting_batch)
