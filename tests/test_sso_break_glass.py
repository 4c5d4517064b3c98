"""CHOWDA_OIDC_ONLY: the login page offers single sign-on, and a password signs in the break-glass superuser only."""

import dataclasses

import pytest

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
PASSWORD = "correct horse battery staple"  # pragma: allowlist secret


@pytest.fixture
def only(settings, single_sign_on):
    settings.SINGLE_SIGN_ON = dataclasses.replace(single_sign_on, only=True)
    return settings.SINGLE_SIGN_ON


def password_login(client, user):
    user.set_password(PASSWORD)
    user.save()
    return client.post("/admin/login/?next=/admin/", {"username": user.username, "password": PASSWORD})


def test_a_curators_password_is_refused_with_a_sentence(client, only, curator):
    answer = password_login(client, curator)

    assert answer.status_code == 200
    page = answer.content.decode()
    assert (
        "Passwords are switched off here except for the break-glass superuser: sign in with the Archive&#x27;s SSO."
        in page
    )
    assert '<details id="break-glass" open>' in page
    assert client.get("/admin/")["Location"].startswith("/admin/login/")


def test_the_break_glass_superuser_signs_in_with_a_password(client, only):
    root = UserFactory(username="root", is_superuser=True, is_staff=True)

    answer = password_login(client, root)

    assert answer.status_code == 302
    assert client.get("/admin/").status_code == 200


def test_the_login_page_offers_single_sign_on_and_hides_the_password_form(client, only):
    page = client.get("/admin/login/").content.decode()

    assert 'value="Sign in with the Archive&#x27;s SSO"' in page
    assert '<details id="break-glass">' in page
    assert "Break-glass sign-in with a password (superusers only)" in page


def test_without_it_both_ways_are_offered_and_passwords_work(client, single_sign_on, curator):
    page = client.get("/admin/login/").content.decode()
    assert 'value="Sign in with the Archive&#x27;s SSO"' in page
    assert "Or sign in with a local account:" in page
    assert "break-glass" not in page

    assert password_login(client, curator).status_code == 302


def test_without_single_sign_on_the_login_page_is_as_it_was(client, curator):
    page = client.get("/admin/login/").content.decode()

    assert "Sign in with" not in page
    assert 'id="login-form"' in page
    assert password_login(client, curator).status_code == 302
