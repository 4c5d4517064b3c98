import pytest

pytestmark = pytest.mark.django_db


@pytest.mark.usefixtures("celery_worker")
def test_it_answers_200_when_database_redis_and_a_worker_are_up(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"]["ok"] and body["redis"]["ok"]
    assert body["workers"]["count"] >= 1


def test_it_answers_503_naming_what_is_down(client, settings, unreachable_url):
    settings.REDIS_URL = unreachable_url.replace("http://", "redis://") + "0"

    response = client.get("/healthz")

    assert response.status_code == 503
    body = response.json()
    assert body["down"] == ["redis", "workers"]
    assert body["redis"]["error"].startswith("Redis cannot be reached")
    assert body["database"]["ok"]
