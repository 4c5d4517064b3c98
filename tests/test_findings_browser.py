"""Acceptance in a real browser: the demo apps run a batch through the real worker, then a curator reads the run:
the segmenter's TimeFrames as bars over the playing WAV, a click seeks the audio, the summarizer's text below.
A viewer sees all of it and can change nothing."""

import pytest
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.contrib.auth.models import Group
from playwright.sync_api import expect, sync_playwright

from batches.models import DocumentType
from clams_apps.services import app_register
from demo_apps.media import write_demo_media
from demo_apps.serve import serve_in_thread
from runs.models import Status
from runs.services import batch_start
from tests.factories import BatchFactory, MediaFileFactory, PipelineFactory, PipelineStepFactory, UserFactory
from tests.runner_helpers import wait_until_finished
from tests.test_live_browser import CHROMIUM, CHROMIUM_FLAGS, PASSWORD

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("celery_worker")]


@pytest.fixture
def served_media(settings, tmp_path):
    """The demo WAV files, in the folder Chowda serves to the player (set before Daphne starts)."""
    folder = tmp_path / "demo-media"
    paths = {path.stem: path for path in write_demo_media(folder)}
    settings.SERVED_MEDIA_ROOT = str(folder)
    return paths


@pytest.fixture
def demo_apps():
    served = {name: serve_in_thread(name) for name in ("segmenter", "summarizer")}
    yield {name: url for name, (url, _stop) in served.items()}
    for _url, stop in served.values():
        stop()


def person(username: str, group: str):
    user = UserFactory(username=username)
    # Hashed the way the server (real settings) checks it; the tests' own hasher is a fast one.
    type(user).objects.filter(pk=user.pk).update(password=PBKDF2PasswordHasher().encode(PASSWORD, "e2esalt"))
    user.groups.add(Group.objects.get(name=group))
    return user


def demo_batch_run(demo_apps, served_media):
    """The demo pipeline run to the end over two-tones.wav: sound from 0 to 1 s, silence, sound from 1.5 to
    2.3 s, silence."""
    pipeline = PipelineFactory(name="Demo: segment, then summarise")
    segmenter = app_register(demo_apps["segmenter"], name="Demo Audio Segmenter")
    summarizer = app_register(demo_apps["summarizer"], name="Demo Time Frame Summarizer")
    PipelineStepFactory(
        pipeline=pipeline, position=1, app=segmenter, parameters={"threshold": 0.02, "minDuration": 0.2}
    )
    PipelineStepFactory(pipeline=pipeline, position=2, app=summarizer, parameters={})
    media_file = MediaFileFactory(
        guid="demo-two-tones",
        location=served_media["two-tones"].as_uri(),
        mime_type="audio/wav",
        document_type=DocumentType.AUDIO,
    )
    batch = BatchFactory(name="Demo batch", pipeline=pipeline, media_files=[media_file])
    batch_start(batch)
    [run] = wait_until_finished(batch)
    assert run.status == Status.SUCCEEDED, run.error
    return run


def log_in(page, url, username, next_path):
    page.goto(f"{url}/admin/login/?next={next_path}")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")


def test_a_curator_reads_the_timeline_over_the_playing_wav_and_a_viewer_sees_the_same(served_media, daphne, demo_apps):
    run = demo_batch_run(demo_apps, served_media)
    person("curator", "Curators")
    person("viewer", "Viewers")

    # Playwright runs an event loop in this thread, so the database is only touched by other processes below.
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=[*CHROMIUM_FLAGS, "--autoplay-policy=no-user-gesture-required"]
        )
        curator = browser.new_page()
        log_in(curator, daphne.url, "curator", f"/runs/{run.pk}/live/")
        curator.click("#findings-link")
        see_the_segments_over_the_wav_and_seek(curator)
        see_the_summary(curator)

        viewer = browser.new_page()
        log_in(viewer, daphne.url, "viewer", f"/runs/{run.pk}/findings/")
        see_the_segments_over_the_wav_and_seek(viewer)
        see_the_summary(viewer)
        see_the_files_history_without_a_way_to_change_it(viewer, daphne.url, run)
        browser.close()


def see_the_segments_over_the_wav_and_seek(page):
    sound = page.locator("#timeline .lane[data-view=v_0] .bar[data-label=sound]")
    expect(page.locator("#timeline .lane[data-view=v_0] .bar")).to_have_count(4)
    expect(sound).to_have_count(2)
    player = page.locator("audio#player")
    expect(player).to_be_visible()
    page.wait_for_function("document.getElementById('player').readyState >= 1", timeout=15000)
    assert page.evaluate("document.getElementById('player').duration") == pytest.approx(3.0, abs=0.05)

    second = sound.nth(1)
    second.hover()
    expect(page.locator("#timeline-tip")).to_have_text("sound: 1.500 s \u2013 2.300 s")
    second.click()

    page.wait_for_function("Math.abs(document.getElementById('player').currentTime - 1.5) < 0.3")
    page.wait_for_function("!document.getElementById('player').paused")


def see_the_summary(page):
    page.select_option("#source", label="Step 2 (Demo Time Frame Summarizer): output")
    expect(page.locator("#views .new")).to_have_count(1)
    page.locator("#views a", has_text="v_1").click()
    expect(page.locator("#annotations")).to_contain_text("2 stretches of sound totalling 1.8 s")
    expect(page.locator("#annotations .alignment")).to_contain_text("AudioDocument d1")
    expect(page.locator("#views")).to_contain_text("1 TextDocument")


def see_the_files_history_without_a_way_to_change_it(page, url, run):
    page.goto(f"{url}/admin/batches/mediafile/{run.media_file_id}/change/")
    expect(page.locator("#media-history tr.latest")).to_have_count(1)
    expect(page.locator("#media-history")).to_contain_text("Demo batch")
    expect(page.locator("input[name=_save]")).to_have_count(0)
    expect(page.locator("#findings-link")).to_have_count(0)
