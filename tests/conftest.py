import socket

import pytest
from django.contrib.auth.models import Group

from tests import clams_test_apps
from tests.factories import UserFactory


@pytest.fixture(scope="session")
def clams_apps_served():
    """Real clams-python apps on loopback, shared by the whole session: name -> base URL."""
    served = {
        "segmenter": clams_test_apps.serve(clams_test_apps.Segmenter()),
        "transcriber": clams_test_apps.serve(clams_test_apps.Transcriber()),
        "ocr": clams_test_apps.serve(clams_test_apps.OcrOnImages()),
        "not_clams": clams_test_apps.serve(clams_test_apps.not_clams_app),
    }
    yield {name: app.url for name, app in served.items()}
    for app in served.values():
        app.stop()


@pytest.fixture
def unreachable_url():
    """A loopback URL where nothing listens."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


# Personas: the people whose permissions the tests talk about.


@pytest.fixture
def superuser(db):
    return UserFactory(username="root", is_superuser=True)


@pytest.fixture
def curator(db):
    user = UserFactory(username="curator")
    user.groups.add(Group.objects.get(name="Curators"))
    return user


@pytest.fixture
def viewer(db):
    user = UserFactory(username="viewer")
    user.groups.add(Group.objects.get(name="Viewers"))
    return user


@pytest.fixture
def curator_client(client, curator):
    client.force_login(curator)
    return client


@pytest.fixture
def viewer_client(client, viewer):
    client.force_login(viewer)
    return client


@pytest.fixture
def superuser_client(client, superuser):
    client.force_login(superuser)
    return client
