import pytest
from django.conf import settings as django_settings

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client, superuser):
    client.force_login(superuser)
    return client


@pytest.mark.usefixtures("celery_worker")
def test_it_answers_200_when_database_redis_and_a_worker_are_up(client, staff_client):
    response = staff_client.get("/healthz")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"]["ok"] and body["redis"]["ok"]
    assert body["workers"]["count"] >= 1


def test_it_answers_503_naming_what_is_down_and_says_why_to_staff(staff_client, settings, unreachable_url):
    settings.REDIS_URL = unreachable_url.replace("http://", "redis://") + "0"

    response = staff_client.get("/healthz")

    assert response.status_code == 503
    body = response.json()
    assert body["down"] == ["redis", "workers"]
    assert body["redis"]["error"].startswith("Redis cannot be reached")
    assert body["database"]["ok"]


def test_anyone_else_learns_only_which_part_is_down_never_addresses_or_errors(client, settings, unreachable_url):
    address = unreachable_url.replace("http://", "redis://") + "0"
    settings.REDIS_URL = address

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json() == {
        "status": "down",
        "down": ["redis", "workers"],
        "database": {"ok": True},
        "redis": {"ok": False},
        "workers": {"ok": False},
    }
    text = response.content.decode()
    assert address.split("//")[1].split("/")[0] not in text
    assert str(django_settings.DATABASES["default"]["NAME"]) not in text
