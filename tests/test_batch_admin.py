import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from batches.models import Batch
from runs.models import Status
from runs.selectors import with_progress, with_run_counts
from tests.factories import BatchFactory, CollectionFactory, MediaFileFactory, PipelineFactory, RunFactory

pytestmark = pytest.mark.django_db
CHANGELIST = reverse("admin:batches_batch_changelist")


def run_action(client, url, action, objects, **extra):
    return client.post(url, {"action": action, "_selected_action": [o.pk for o in objects], **extra}, follow=True)


def test_the_list_shows_files_and_runs_per_status(curator_client):
    files = MediaFileFactory.create_batch(4)
    batch = BatchFactory(name="Nightly", media_files=files)
    for media, status in zip(files, [Status.SUCCEEDED, Status.SUCCEEDED, Status.FAILED, Status.RUNNING], strict=True):
        RunFactory(batch=batch, media_file=media, status=status)
    BatchFactory(name="Fresh", media_files=files[:1])

    page = curator_client.get(CHANGELIST).content.decode()

    assert "1 running" in page
    assert "2 succeeded" in page
    assert "1 failed" in page
    assert "not started" in page
    assert with_run_counts(Batch.objects).get(name="Nightly").media_count == 4


def make_batches(n):
    pipeline = PipelineFactory()
    files = MediaFileFactory.create_batch(3)
    for _ in range(n):
        batch = BatchFactory(pipeline=pipeline, media_files=files)
        RunFactory(batch=batch, media_file=files[0], status=Status.SUCCEEDED)


def count_changelist_queries(client):
    with CaptureQueriesContext(connection) as queries:
        assert client.get(CHANGELIST).status_code == 200
    return len(queries)


def test_the_list_makes_as_many_queries_for_50_batches_as_for_5(curator_client):
    make_batches(5)
    five = count_changelist_queries(curator_client)
    make_batches(45)
    fifty = count_changelist_queries(curator_client)

    assert Batch.objects.count() == 50
    assert fifty == five


def test_it_filters_by_progress(curator_client):
    files = MediaFileFactory.create_batch(2)
    new = BatchFactory(name="new-one")
    active = BatchFactory(name="active-one")
    RunFactory(batch=active, media_file=files[0], status=Status.RUNNING)
    failed = BatchFactory(name="failed-one")
    RunFactory(batch=failed, media_file=files[0], status=Status.FAILED)
    done = BatchFactory(name="done-one")
    RunFactory(batch=done, media_file=files[0], status=Status.SUCCEEDED)

    for progress, expected in [("new", new), ("active", active), ("failed", failed), ("finished", done)]:
        page = curator_client.get(CHANGELIST, {"status": progress}).content.decode()
        shown = {b.name for b in Batch.objects.all() if f">{b.name}</a>" in page}
        assert shown == {expected.name}, progress


def test_it_searches_by_guid(curator_client):
    BatchFactory(name="has-it", media_files=[MediaFileFactory(guid="cpb-aacip-needle")])
    BatchFactory(name="does-not", media_files=[MediaFileFactory()])

    page = curator_client.get(CHANGELIST, {"q": "needle"}).content.decode()

    assert ">has-it</a>" in page
    assert ">does-not</a>" not in page


def test_duplicate_copies_pipeline_and_files_but_not_runs(curator_client, curator):
    files = MediaFileFactory.create_batch(3)
    batch = BatchFactory(name="Nightly", media_files=files)
    RunFactory(batch=batch, media_file=files[0])

    run_action(curator_client, CHANGELIST, "duplicate", [batch])

    copy = Batch.objects.get(name="Nightly (copy)")
    assert copy.pipeline == batch.pipeline
    assert set(copy.media_files.all()) == set(files)
    assert not copy.runs.exists()
    assert copy.created_by == curator


def test_combine_asks_for_a_name_then_makes_the_union(curator_client):
    shared = MediaFileFactory()
    a = BatchFactory(media_files=[shared, MediaFileFactory()])
    b = BatchFactory(media_files=[shared, MediaFileFactory()])

    form = run_action(curator_client, CHANGELIST, "combine", [a, b])
    assert "Combine the selected batches" in form.content.decode()
    run_action(curator_client, CHANGELIST, "combine", [a, b], apply="Create", name="Both", pipeline="")

    assert Batch.objects.get(name="Both").media_files.count() == 3


def test_batches_from_collections_one_or_one_per_collection(curator_client):
    url = reverse("admin:batches_collection_changelist")
    east = CollectionFactory(name="East", media_files=MediaFileFactory.create_batch(2))
    west = CollectionFactory(name="West", media_files=MediaFileFactory.create_batch(3))

    run_action(curator_client, url, "create_batches", [east, west], apply="Create", name="Coast to coast")
    run_action(curator_client, url, "create_batches", [east, west], apply="Create", one_per_collection="on")

    assert Batch.objects.get(name="Coast to coast").media_files.count() == 5
    assert Batch.objects.get(name="East").media_files.count() == 2
    assert Batch.objects.get(name="West").media_files.count() == 3


def test_one_batch_from_collections_needs_a_name(curator_client):
    east = CollectionFactory(name="East", media_files=MediaFileFactory.create_batch(2))

    page = run_action(
        curator_client, reverse("admin:batches_collection_changelist"), "create_batches", [east], apply="Create"
    ).content.decode()

    assert "Give the new batch a name, or choose one batch per collection." in page
    assert not Batch.objects.exists()


def test_batch_from_selected_media_files(curator_client):
    pipeline = PipelineFactory(name="ASR")
    files = MediaFileFactory.create_batch(3)

    run_action(
        curator_client,
        reverse("admin:batches_mediafile_changelist"),
        "create_batch",
        files[:2],
        apply="Create",
        name="Two",
        pipeline=pipeline.pk,
    )

    batch = Batch.objects.get(name="Two")
    assert batch.pipeline == pipeline
    assert set(batch.media_files.all()) == set(files[:2])


def test_viewers_see_batches_but_no_actions_or_add_button(viewer_client):
    BatchFactory(name="Nightly")

    page = viewer_client.get(CHANGELIST).content.decode()

    assert ">Nightly</a>" in page
    assert 'value="duplicate"' not in page
    assert 'value="combine"' not in page
    assert "addlink" not in page
    response = viewer_client.post(CHANGELIST, {"action": "duplicate", "_selected_action": [Batch.objects.get().pk]})
    assert Batch.objects.count() == 1
    assert response.status_code in (200, 302)


def test_viewers_cannot_change_a_batch(viewer_client):
    batch = BatchFactory(name="Nightly")

    response = viewer_client.post(reverse("admin:batches_batch_change", args=[batch.pk]), {"name": "Renamed"})

    assert response.status_code == 403
    batch.refresh_from_db()
    assert batch.name == "Nightly"


def test_curators_create_a_batch_in_the_admin_and_are_recorded_as_its_creator(curator_client, curator):
    files = MediaFileFactory.create_batch(2)
    pipeline = PipelineFactory()

    response = curator_client.post(
        reverse("admin:batches_batch_add"),
        {"name": "Mine", "description": "", "pipeline": pipeline.pk, "media_files": [f.pk for f in files]},
    )

    assert response.status_code == 302
    assert Batch.objects.get(name="Mine").created_by == curator


def test_a_retried_run_counts_once_in_the_list_and_the_filters(curator_client):
    media = MediaFileFactory()
    batch = BatchFactory(name="Retried", media_files=[media])
    failed = RunFactory(batch=batch, media_file=media, status=Status.FAILED, superseded=True)
    RunFactory(batch=batch, media_file=media, status=Status.SUCCEEDED, attempt=2, retry_of=failed)

    counted = with_run_counts(Batch.objects).get(pk=batch.pk)

    assert (counted.runs_failed, counted.runs_succeeded) == (0, 1)
    assert list(with_progress(Batch.objects, "finished")) == [batch]
    assert not with_progress(Batch.objects, "failed").exists()
    page = curator_client.get(CHANGELIST).content.decode()
    assert "1 succeeded" in page and "failed" not in page.split(">Retried</a>")[1].split("</tr>")[0]
