"""The demo data is made once: a second seeding changes nothing, and a moved app gets its new URL."""

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.core.management import CommandError, call_command

from batches.models import Batch, Collection, MediaFile
from clams_apps.models import ClamsApp
from demo_apps.serve import serve_in_thread
from pipelines.models import Pipeline

pytestmark = pytest.mark.django_db
PASSWORD = "the-admin-password"  # pragma: allowlist secret


@pytest.fixture(scope="module")
def demo_apps():
    served = {name: serve_in_thread(name) for name in ("segmenter", "summarizer")}
    yield {name: url for name, (url, _stop) in served.items()}
    for _url, stop in served.values():
        stop()


def seed(demo_apps, tmp_path, capsys, **urls):
    call_command(
        "seed_demo",
        segmenter_url=urls.get("segmenter", demo_apps["segmenter"]),
        summarizer_url=urls.get("summarizer", demo_apps["summarizer"]),
        media_dir=tmp_path,
    )
    return capsys.readouterr().out


def everything():
    return [model.objects.count() for model in (get_user_model(), ClamsApp, Pipeline, MediaFile, Collection, Batch)]


def test_it_seeds_users_apps_pipeline_media_and_a_batch(demo_apps, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("CHOWDA_ADMIN_PASSWORD", PASSWORD)

    out = seed(demo_apps, tmp_path, capsys)

    assert "user 'admin' created with password $CHOWDA_ADMIN_PASSWORD" in out
    assert authenticate(username="admin", password=PASSWORD).is_superuser
    curator = get_user_model().objects.get(username="curator")
    assert curator.has_perm("batches.run_batch") and not curator.is_superuser
    batch = Batch.objects.get(name="Demo batch")
    assert [s.app.name for s in batch.pipeline.steps.all()] == ["Demo segmenter", "Demo summarizer"]
    assert batch.media_files.count() == 6
    broken = MediaFile.objects.get(guid="demo-broken")
    assert broken.location == (tmp_path / "broken.wav").as_uri()
    assert ClamsApp.objects.get(name="Demo segmenter").app_metadata.parameter("threshold").type == "number"


def test_seeding_again_changes_nothing(demo_apps, tmp_path, capsys):
    seed(demo_apps, tmp_path, capsys)
    before = everything()

    out = seed(demo_apps, tmp_path, capsys)

    assert everything() == before
    assert "user 'admin' exists; its password is unchanged" in out


def test_an_app_that_moved_gets_its_new_url(demo_apps, tmp_path, capsys):
    seed(demo_apps, tmp_path, capsys)
    url, stop = serve_in_thread("summarizer")
    try:
        seed(demo_apps, tmp_path, capsys, summarizer=url)
    finally:
        stop()

    assert ClamsApp.objects.get(name="Demo summarizer").endpoint == url


def test_it_says_to_start_the_apps_when_they_are_not_running(tmp_path, capsys, unreachable_url):
    with pytest.raises(CommandError, match=r"Nothing answered at .*Start the demo apps first"):
        seed({"segmenter": unreachable_url, "summarizer": unreachable_url}, tmp_path, capsys)

    assert not Batch.objects.exists()
