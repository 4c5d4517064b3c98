"""Chowda calls apps on private networks and loopback, but never addresses where no app can be.

Registering an app makes the server fetch a URL a curator typed: link-local (cloud metadata),
unspecified, multicast and reserved addresses are refused before anything is sent, and a URL that
answers nothing gets the same sentence whatever the reason, so the form cannot map open ports.
"""

import socket
import threading
import time

import pytest
from django.urls import reverse

from clams_apps.client import AppError, fetch_metadata
from clams_apps.models import ClamsApp, Health
from runs.app_call import post_mmif
from tests.clams_test_apps import serve
from tests.factories import ClamsAppFactory

pytestmark = pytest.mark.django_db

ASK = "register the app by an address on your network, or ask an operator to allow it in CHOWDA_APP_URL_ALLOW."


def register(api, endpoint: str):
    return api.post("/api/apps/", {"endpoint": endpoint, "name": "probe"}, format="json")


@pytest.mark.parametrize(
    ("url", "sentence"),
    [
        (
            "http://169.254.169.254/latest/meta-data/",
            f"Chowda does not call link-local addresses such as 169.254.169.254: {ASK}",
        ),
        (
            "http://[::ffff:169.254.169.254]/",
            f"Chowda does not call link-local addresses such as 169.254.169.254 (the address of "
            f"::ffff:169.254.169.254): {ASK}",
        ),
        ("http://[fe80::1]:5000/", f"Chowda does not call link-local addresses such as fe80::1: {ASK}"),
        ("http://0.0.0.0:5000/", f"Chowda does not call unspecified addresses such as 0.0.0.0: {ASK}"),
        ("http://[::]:5000/", f"Chowda does not call unspecified addresses such as ::: {ASK}"),
        ("http://224.0.0.1/", f"Chowda does not call multicast addresses such as 224.0.0.1: {ASK}"),
        (
            "http://255.255.255.255/",
            f"Chowda does not call reserved or broadcast addresses such as 255.255.255.255: {ASK}",
        ),
        ("http://240.0.0.1/", f"Chowda does not call reserved or broadcast addresses such as 240.0.0.1: {ASK}"),
    ],
    ids=[
        "cloud metadata",
        "mapped into IPv6",
        "IPv6 link-local",
        "0.0.0.0",
        "::",
        "multicast",
        "broadcast",
        "reserved",
    ],
)
def test_an_address_where_no_app_can_be_is_refused_at_once_with_a_sentence(api, url, sentence):
    started = time.monotonic()
    response = register(api, url)

    assert response.status_code == 400
    assert response.json() == {"endpoint": [sentence]}
    assert time.monotonic() - started < 1, "refused before any connection is tried"
    assert not ClamsApp.objects.exists()


@pytest.mark.parametrize(
    ("url", "sentence"),
    [
        (
            "gopher://127.0.0.1:70/",
            "Chowda calls CLAMS apps over http or https only, not gopher: gopher://127.0.0.1:70/.",
        ),
        (
            "http://curator:secret@127.0.0.1:5000/",  # pragma: allowlist secret
            "The app's URL must not carry a user name or password (127.0.0.1): give its plain http(s) URL.",
        ),
    ],
    ids=["other scheme", "user name and password"],
)
def test_a_url_with_another_scheme_or_a_password_is_refused(url, sentence):
    with pytest.raises(AppError) as error:
        fetch_metadata(url)

    assert str(error.value) == sentence


def test_the_admin_form_refuses_the_cloud_metadata_address(curator_client):
    form = {"name": "x", "endpoint": "http://169.254.169.254/", "description": "", "max_concurrency": 1}
    response = curator_client.post(reverse("admin:clams_apps_clamsapp_add"), {**form, "timeout": 60, "enabled": "on"})

    assert response.status_code == 200
    assert "Chowda does not call link-local addresses such as 169.254.169.254" in response.content.decode()
    assert not ClamsApp.objects.exists()


def test_a_redirect_is_not_followed_to_where_the_check_would_refuse(unreachable_url):
    url, thread = serve_once(b"HTTP/1.1 302 Found\r\nLocation: http://169.254.169.254/\r\nContent-Length: 0\r\n\r\n")

    with pytest.raises(AppError) as error:
        fetch_metadata(url)
    thread.join(timeout=5)

    assert str(error.value) == f"The app at {url} answered HTTP 302 to GET; check that the URL is the app's base URL."


def test_an_app_on_loopback_is_registered(api, clams_apps_served):
    response = register(api, clams_apps_served["segmenter"])

    assert response.status_code == 201, response.json()


def test_refreshing_an_app_whose_url_is_link_local_is_refused_and_marks_it_unreachable(api):
    app = ClamsAppFactory(endpoint="http://169.254.169.254/", name="metadata")

    response = api.post(f"/api/apps/{app.pk}/refresh/")

    assert response.status_code == 409
    assert "Chowda does not call link-local addresses such as 169.254.169.254" in response.json()["detail"]
    app.refresh_from_db()
    assert app.health == Health.UNREACHABLE


def test_a_run_does_not_call_an_app_whose_url_is_link_local():
    answer = post_mmif(
        app_name="metadata",
        endpoint="http://169.254.169.254/",
        timeout=60,
        mmif=None,
        query=[],
        known_view_ids=set(),
    )

    assert answer.kind == "failed"
    assert answer.message == (
        "App 'metadata' at http://169.254.169.254/ was not called: Chowda does not call link-local addresses "
        f"such as 169.254.169.254: {ASK}"
    )


def test_a_run_does_not_follow_an_app_that_redirects_it_elsewhere(clams_apps_served):
    elsewhere = clams_apps_served["segmenter"]
    requests_seen = []

    def redirector(environ, start_response):
        requests_seen.append(environ["REQUEST_METHOD"])
        start_response("307 Temporary Redirect", [("Location", elsewhere), ("Content-Length", "0")])
        return [b""]

    served = serve(redirector)
    try:
        answer = post_mmif(
            app_name="moved", endpoint=served.url, timeout=10, mmif=b"{}", query=[], known_view_ids=set()
        )
    finally:
        served.stop()

    assert (answer.kind, answer.http_status) == ("failed", 307)
    assert answer.message == (
        f"App 'moved' at {served.url} answered HTTP 307, redirecting to {elsewhere}; Chowda does not follow "
        "redirects: register the app by the address it redirects to."
    )
    assert requests_seen == ["POST"]


def test_with_an_allow_list_only_the_listed_networks_and_names_may_be_registered(api, settings, clams_apps_served):
    url = clams_apps_served["segmenter"]  # on 127.0.0.1
    settings.APP_URL_ALLOW = ["10.0.0.0/8", "apps.internal"]

    refused = register(api, url)

    assert refused.status_code == 400
    assert refused.json() == {
        "endpoint": [
            f"{url} is not among the app addresses this Chowda allows (10.0.0.0/8, apps.internal): register the "
            "app by one of those, or ask an operator to add it to CHOWDA_APP_URL_ALLOW."
        ]
    }
    settings.APP_URL_ALLOW = ["10.0.0.0/8", "127.0.0.0/8"]
    assert register(api, url).status_code == 201


def test_an_allow_list_may_name_hosts(api, settings, clams_apps_served):
    settings.APP_URL_ALLOW = ["LocalHost"]

    response = register(api, clams_apps_served["segmenter"].replace("127.0.0.1", "localhost"))

    assert response.status_code == 201, response.json()


def serve_once(answer: bytes) -> tuple[str, threading.Thread]:
    """A TCP service on loopback that is not HTTP: it writes ``answer`` (maybe nothing) and hangs up."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()

    def serve():
        with listener:
            connection, _ = listener.accept()
            with connection:
                connection.sendall(answer)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return f"http://127.0.0.1:{listener.getsockname()[1]}/", thread


@pytest.mark.parametrize("answer", [b"SSH-2.0-OpenSSH_9.6\r\n", b""], ids=["another protocol", "hangs up"])
def test_a_service_that_is_not_http_is_reported_like_a_closed_port(unreachable_url, answer):
    url, thread = serve_once(answer)

    with pytest.raises(AppError) as open_port:
        fetch_metadata(url)
    with pytest.raises(AppError) as closed_port:
        fetch_metadata(unreachable_url)
    thread.join(timeout=5)

    assert str(open_port.value).replace(url, "URL") == str(closed_port.value).replace(unreachable_url, "URL")
    assert str(closed_port.value) == (
        f"Nothing answered at {unreachable_url} (connection refused or timed out): "
        "check the app is running and the address is right."
    )
