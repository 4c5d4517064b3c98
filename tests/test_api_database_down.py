"""With Chowda's database unreachable the API answers JSON, 503, with a sentence: never Django's HTML 500 page."""

import pytest
from django.db import connection

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def database_unreachable(tmp_path, unreachable_url):
    """The next queries of this process fail to connect, as with a database that is down: SQLite's file is in a
    folder that does not exist, PostgreSQL's server is a port where nothing listens."""
    saved = dict(connection.settings_dict)
    connection.close()
    if connection.vendor == "sqlite":
        connection.settings_dict["NAME"] = str(tmp_path / "no-such-folder" / "chowda.sqlite3")
    else:
        connection.settings_dict["PORT"] = unreachable_url.rsplit(":", 1)[1].strip("/")
    yield
    connection.close()
    connection.settings_dict.clear()
    connection.settings_dict.update(saved)


def test_the_api_answers_503_in_json_with_a_sentence(api, database_unreachable):
    response = api.get("/api/batches/")

    assert response.status_code == 503
    assert response["Content-Type"] == "application/json"
    assert response.json() == {
        "detail": "Chowda's database cannot be reached right now, so nothing was read or changed; try again in a "
        "minute, and tell your operator if it lasts."
    }
