"""The search page and ``GET /api/search/`` for every signed-in role: files with their hits, each linking to the
findings viewer at its moment; bad input is a sentence; someone without a role reaches nothing; a page costs the
same queries for 2 files as for 20."""

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from tests.factories import BatchFactory, UserFactory
from tests.search_helpers import indexed_step

pytestmark = pytest.mark.django_db
PAGE, API = "/search/", "/api/search/"


@pytest.fixture
def archive(db):
    batch = BatchFactory(name="Evening news")
    return indexed_step(
        guid="cpb-watergate",
        batch=batch,
        lines=[(4000, 9000, "The Watergate hearings resumed <today> & tonight.")],
        frames=[(400_000, 401_000, "slate")],
    )


def test_a_viewer_searches_and_each_hit_links_to_the_viewer_at_its_moment(viewer_client, archive):
    page = viewer_client.get(PAGE, {"q": "watergate"})

    text = page.content.decode()
    assert page.status_code == 200
    assert "1 hit in 1 file" in text and "cpb-watergate" in text
    # The app's text is escaped (PostgreSQL's snippet leaves out what looks like a tag; SQLite's keeps it, escaped).
    assert "<mark>Watergate</mark>" in text and "&amp; tonight" in text and "<today>" not in text
    assert f"/runs/{archive.run_id}/findings/?source=step-1&amp;view=v1&amp;t=4" in text
    assert "Evening news" in text


def test_the_viewer_starts_its_player_at_the_linked_moment(curator_client, archive):
    page = curator_client.get(f"/runs/{archive.run_id}/findings/", {"source": "step-1", "view": "v1", "t": "4"})
    assert 'id="player"' not in page.content.decode() or "#t=4" in page.content.decode()
    assert page.context["start_at"] == 4.0
    assert curator_client.get(f"/runs/{archive.run_id}/findings/", {"t": "soon"}).context["start_at"] is None


def test_a_curator_filters_by_label_and_time_in_the_media(curator_client, archive):
    text = curator_client.get(PAGE, {"label": "slate", "start_from": "300"}).content.decode()
    assert "1 hit in 1 file" in text and "labelled <b>slate</b>" in text and "t=400" in text
    assert "Nothing found" in curator_client.get(PAGE, {"label": "slate", "start_to": "60"}).content.decode()


def test_bad_input_is_a_sentence_and_searches_nothing(viewer_client, archive):
    page = viewer_client.get(PAGE, {"q": "watergate", "start_from": "90", "start_to": "10"})

    assert page.status_code == 400
    assert "The time range in the media ends before it starts" in page.content.decode()
    assert "cpb-watergate" not in page.content.decode()


def test_the_api_answers_files_with_their_hits(api, archive):
    answer = api.get(API, {"q": '"watergate hearings"', "batch": archive.run.batch_id}).json()

    assert (answer["hits"], answer["files"], answer["pages"]) == (1, 1, 1)
    [found] = answer["results"]
    [hit] = found["best"]
    assert (found["guid"], found["hits"]) == ("cpb-watergate", 1)
    assert (hit["kind"], hit["start"], hit["end"], hit["app"], hit["run"], hit["step"]) == (
        "text",
        4.0,
        9.0,
        "whisper",
        archive.run_id,
        1,
    )
    assert hit["url"].endswith(f"/runs/{archive.run_id}/findings/?source=step-1&view=v1&t=4")


def test_the_api_says_what_is_wrong_with_a_request(api, archive):
    empty = api.get(API)
    bad = api.get(API, {"q": "x", "batch": "many"})

    assert empty.status_code == bad.status_code == 400
    assert "Say what to search for" in empty.json()["detail"]
    assert "Batch: Enter a whole number." in bad.json()["detail"]


def test_someone_without_a_role_reaches_no_finding_by_page_or_api(client, archive):
    stranger = UserFactory(username="stranger")
    client.force_login(stranger)
    api = APIClient()
    api.force_authenticate(stranger)

    assert client.get(PAGE, {"q": "watergate"}).status_code == 403
    assert api.get(API, {"q": "watergate"}).status_code == 403
    assert APIClient().get(API, {"q": "watergate"}).status_code == 401
    # Runs alone are not enough: the viewer's player needs the media files too, and so does search.
    stranger.user_permissions.add(Permission.objects.get(codename="view_run"))
    assert api.get(API, {"q": "watergate"}).status_code == 403


def test_the_search_is_in_the_schema(api):
    schema = api.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    assert "q" in [p["name"] for p in schema["paths"]["/api/search/"]["get"]["parameters"]]


@pytest.mark.parametrize("door", [PAGE, API])
def test_a_page_of_results_costs_the_same_queries_for_2_files_as_for_20(door, curator_client, api, archive):
    client = curator_client if door == PAGE else api

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(door, {"q": "news"}).status_code == 200
        return len(captured)

    queries()  # the user's permissions are read once, then cached on it
    batch = BatchFactory()
    for number in range(2):
        indexed_step(guid=f"cpb-few-{number}", batch=batch, lines=[(0, 1000, "News of the day.")] * 3)
    few = queries()
    for number in range(18):
        indexed_step(guid=f"cpb-many-{number}", batch=batch, lines=[(0, 1000, "News of the day.")] * 3)
    assert queries() == few
