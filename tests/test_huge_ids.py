"""Ids too large for the database (2^63 and up) are a 400 in filters and a 404 in paths; never a 500."""

import pytest
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.core.management import CommandError, call_command
from django.urls import reverse

from runs.routing import websocket_urlpatterns
from tests.factories import BatchFactory, PipelineFactory

TOO_LARGE = ["9223372036854775808", "99999999999999999999"]
LONGEST_ID = "9223372036854775807"


@pytest.mark.django_db
@pytest.mark.parametrize("value", TOO_LARGE)
@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("/api/runs/", "batch"),
        ("/api/runs/", "app"),
        ("/api/batches/", "pipeline"),
        ("/api/media-files/", "collection"),
        ("/api/media-files/", "batch"),
        ("/api/deliveries/", "batch"),
    ],
)
def test_a_filter_by_an_id_too_large_to_exist_is_a_400_that_says_so(api, path, name, value):
    response = api.get(path, {name: value})

    assert response.status_code == 400
    assert response.json() == {name: [f"Ensure the id is at most {LONGEST_ID}: no id is larger."]}


@pytest.mark.django_db
def test_a_filter_by_an_id_below_one_is_a_400_that_says_so(api):
    response = api.get("/api/runs/", {"batch": "0"})

    assert response.status_code == 400
    assert response.json() == {"batch": ["Ensure the id is at least 1: ids start there."]}


@pytest.mark.django_db
def test_a_filter_by_the_largest_id_is_answered_with_an_empty_list(api):
    response = api.get("/api/runs/", {"batch": LONGEST_ID})

    assert response.status_code == 200
    assert response.json()["results"] == []


@pytest.mark.django_db
@pytest.mark.parametrize("value", TOO_LARGE)
@pytest.mark.parametrize(
    "path",
    [
        "/api/runs/{}/",
        "/api/batches/{}/",
        "/api/apps/{}/",
        "/api/pipelines/{}/",
        "/api/media-files/{}/",
        "/api/collections/{}/",
        "/api/batches/{}/mmif.zip",
    ],
)
def test_an_api_object_with_an_id_too_large_to_exist_is_not_found(api, path, value):
    response = api.get(path.format(value))

    assert response.status_code == 404
    assert response.json()["detail"].startswith("There is no ")


@pytest.mark.django_db
@pytest.mark.parametrize("value", [*TOO_LARGE, "9" * 5000])
@pytest.mark.parametrize(
    "path",
    [
        "/batches/{}/live/",
        "/runs/{}/live/",
        "/runs/{}/mmif/",
        "/batches/{}/mmif.zip",
        "/runs/{}/steps/1/output.mmif",
        "/admin/batches/batch/{}/change/",
        "/admin/runs/run/{}/change/",
    ],
)
def test_a_page_with_an_id_too_large_to_exist_is_not_found(superuser_client, path, value):
    response = superuser_client.get(path.format(value), follow=True)

    assert response.status_code in (200, 404)
    if response.redirect_chain:  # the admin goes back to the list with a message instead
        assert "doesn\N{RIGHT SINGLE QUOTATION MARK}t exist" in response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("page", ["9" * 5000, "²"], ids=["5000 digits", "superscript two"])
def test_a_page_number_that_cannot_be_read_shows_the_first_page_of_the_live_batch_page(superuser_client, page):
    batch = BatchFactory(name="Nightly")

    response = superuser_client.get(f"/batches/{batch.pk}/live/", {"page": page})

    assert response.status_code == 200
    assert b"Nightly" in response.content


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
@pytest.mark.parametrize("path", ["/ws/batches/99999999999999999999/", "/ws/runs/" + "9" * 5000 + "/", "/ws/nothing/"])
async def test_a_websocket_to_no_batch_or_run_is_refused_without_an_error(viewer, path):
    communicator = WebsocketCommunicator(URLRouter(websocket_urlpatterns), path)
    communicator.scope["user"] = viewer

    answer = await communicator.connect()
    # Let the refused consumer end while the loop runs: one left to be cancelled as the loop closed hung a teardown.
    await communicator.disconnect()
    assert answer == (False, 4403)


@pytest.mark.django_db
@pytest.mark.parametrize("value", [*TOO_LARGE, f"1,{TOO_LARGE[0]}"])
@pytest.mark.parametrize(
    "query",
    [
        "/admin/runs/run/?batch__id__exact={}",
        "/admin/runs/run/?batch={}",
        "/admin/runs/run/?steps__app__id__exact={}",
        "/admin/batches/batch/?pipeline__id__exact={}",
        "/admin/batches/mediafile/?batches__id__exact={}",
        "/admin/batches/mediafile/?collection__id__in={}",
        "/admin/pipelines/pipeline/?steps__app__id__exact={}",
    ],
)
def test_an_admin_list_filtered_by_an_id_too_large_to_exist_treats_it_as_a_bad_filter(superuser_client, query, value):
    response = superuser_client.get(query.format(value))

    # Django's answer to any filter it cannot apply: back to the list, flagged with ?e=1.
    assert response.status_code == 302
    assert response["Location"].endswith("?e=1")


@pytest.mark.django_db
def test_an_admin_list_filtered_by_the_largest_id_is_an_empty_list(superuser_client):
    response = superuser_client.get(f"/admin/runs/run/?batch__id__exact={LONGEST_ID}")

    assert response.status_code == 200
    assert b"0 runs" in response.content


@pytest.mark.django_db
@pytest.mark.parametrize("value", [*TOO_LARGE, "²"], ids=["2^63", "20 digits", "superscript two"])
def test_a_command_given_an_id_no_object_can_have_says_there_is_none(value):
    with pytest.raises(CommandError, match=rf"There is no batch '{value}': give a batch id or its exact name\."):
        call_command("start_batch", value)
    with pytest.raises(CommandError, match=rf"There is no pipeline '{value}': give a pipeline id or its exact name\."):
        call_command("reuse_mmif", "--name", "Again", "--pipeline", value, "--runs", "1")
    PipelineFactory(name="Tag")
    with pytest.raises(CommandError, match=r"is not a list of run ids, such as --runs 12,13\."):
        call_command("reuse_mmif", "--name", "Again", "--pipeline", "Tag", "--runs", f"1,{value}")


@pytest.mark.django_db
@pytest.mark.parametrize("value", [*TOO_LARGE, "²"], ids=["2^63", "20 digits", "superscript two"])
def test_comparing_a_batch_with_an_id_no_batch_can_have_says_there_is_none(superuser_client, value):
    batch = BatchFactory()

    response = superuser_client.get(reverse("findings:compare_batches", args=[batch.pk]), {"with": value})

    assert response.status_code == 404
    assert f"There is no batch {value}: pick one from the list." in response.content.decode()
