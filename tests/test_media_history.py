"""A media file's page, in the admin and the API, lists every run of it across batches, the latest
successful MMIF of each pipeline marked, in a number of queries that does not grow with the runs."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from runs.models import Status
from tests.factories import BatchFactory, MediaFileFactory, PipelineFactory, RunFactory, UserFactory

pytestmark = pytest.mark.django_db


def history(media_file, runs_per_pipeline=2):
    """For each of two pipelines, ``runs_per_pipeline`` successful runs an hour apart, then a failed one."""
    start = timezone.now() - timedelta(days=1)
    made = {}
    for name in ("Transcripts", "Slates"):
        pipeline = PipelineFactory(name=f"{name} of {media_file.guid}")
        for n in range(runs_per_pipeline):
            batch = BatchFactory(name=f"{name} {n + 1}", pipeline=pipeline)
            finished = start + timedelta(hours=n)
            made[(name, n)] = RunFactory(
                batch=batch,
                media_file=media_file,
                status=Status.SUCCEEDED,
                final_mmif=f"mmif/{name}-{n}.mmif",
                finished_at=finished,
            )
        made[(name, "failed")] = RunFactory(
            batch=BatchFactory(name=f"{name} failed", pipeline=pipeline),
            media_file=media_file,
            status=Status.FAILED,
            finished_at=start + timedelta(hours=99),
        )
    return made


def change_page(client, media_file):
    return client.get(reverse("admin:batches_mediafile_change", args=[media_file.pk]))


def test_the_admin_page_lists_every_run_and_marks_the_latest_successful_mmif_per_pipeline(viewer_client):
    media_file = MediaFileFactory()
    runs = history(media_file, runs_per_pipeline=2)

    page = change_page(viewer_client, media_file).content.decode()

    assert page.count('data-run="') == 6
    for name in ("Transcripts 1", "Transcripts 2", "Slates 1", "Slates failed"):
        assert name in page
    latest = [runs[("Transcripts", 1)].pk, runs[("Slates", 1)].pk]
    for pk in latest:
        assert f'<tr data-run="{pk}" class="latest">' in page
        assert reverse("runs:run_mmif", args=[pk]) in page
    assert page.count("latest successful MMIF of this pipeline") == 2


def test_the_admin_page_takes_as_many_queries_for_many_runs_as_for_few(viewer_client, django_assert_num_queries):
    few, many = MediaFileFactory(), MediaFileFactory()
    history(few, runs_per_pipeline=1)
    history(many, runs_per_pipeline=8)

    # session, user, the user's and the groups' permissions, the file, its runs with their batches and pipelines
    with django_assert_num_queries(6):
        assert change_page(viewer_client, few).content.decode().count('data-run="') == 4
    with django_assert_num_queries(6):
        assert change_page(viewer_client, many).content.decode().count('data-run="') == 18


def test_a_file_never_run_says_how_to_run_it(viewer_client):
    page = change_page(viewer_client, MediaFileFactory()).content.decode()

    assert "This file has not been run yet: add it to a batch and start the batch." in page


def test_the_api_lists_the_runs_of_a_file_with_the_latest_per_pipeline_marked(api, viewer, django_assert_num_queries):
    media_file = MediaFileFactory()
    runs = history(media_file, runs_per_pipeline=3)
    api.force_authenticate(viewer)
    url = reverse("api:media-file-runs", args=[media_file.pk])

    # the user's and the groups' permissions (twice: the action and the object), the file, its runs
    with django_assert_num_queries(4):
        response = api.get(url)

    assert response.status_code == 200
    assert len(response.data) == 8
    latest = {row["id"] for row in response.data if row["latest_for_pipeline"]}
    assert latest == {runs[("Transcripts", 2)].pk, runs[("Slates", 2)].pk}
    row = next(r for r in response.data if r["id"] == runs[("Slates", 2)].pk)
    assert row["batch_name"] == "Slates 3"
    assert row["pipeline_name"] == f"Slates of {media_file.guid}"
    assert row["status"] == "succeeded"
    assert row["mmif_url"].endswith(reverse("api:run-mmif", args=[row["id"]]))
    failed = next(r for r in response.data if r["id"] == runs[("Slates", "failed")].pk)
    assert (failed["mmif_url"], failed["latest_for_pipeline"]) == (None, False)


def test_the_api_refuses_the_history_to_people_who_may_not_view_runs(api):
    media_file = MediaFileFactory()
    stranger = UserFactory(username="stranger")
    api.force_authenticate(stranger)

    response = api.get(reverse("api:media-file-runs", args=[media_file.pk]))

    assert response.status_code == 403


def test_people_who_may_see_media_files_but_not_runs_do_not_see_the_runs(client):
    media_file = MediaFileFactory()
    history(media_file, runs_per_pipeline=1)
    reader = UserFactory(username="reader")
    reader.user_permissions.add(Permission.objects.get(codename="view_mediafile"))
    client.force_login(reader)

    page = change_page(client, media_file).content.decode()

    assert media_file.guid in page
    assert "Runs of this file" not in page
