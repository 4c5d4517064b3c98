"""Signing in with the real identity provider (oidc-provider on loopback): roles from its groups, at every sign-in."""

from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from sso.configuration import single_sign_on_from
from tests.factories import UserFactory
from tests.identity_provider import sign_in

pytestmark = pytest.mark.django_db
User = get_user_model()


def use(settings, config):
    settings.SINGLE_SIGN_ON = config
    settings.SOCIALACCOUNT_PROVIDERS = config.allauth_providers()
    return config


def roles_of(email):
    user = User.objects.get(email=email)
    return {
        "groups": sorted(user.groups.values_list("name", flat=True)),
        "staff": user.is_staff,
        "superuser": user.is_superuser,
    }


def test_a_curator_signs_in_and_lands_in_the_admin(client, single_sign_on, identity_provider):
    identity_provider.person("carla", ["chowda-curators", "somewhere-else"])

    answer = sign_in(client, identity_provider, "carla")

    assert answer.status_code == 302, answer.content.decode()
    assert answer["Location"] == "/admin/"
    assert roles_of("carla@archive.test") == {"groups": ["Curators"], "staff": True, "superuser": False}
    assert "Signed in with the Archive&#x27;s SSO as Carla: Curators." in client.get("/admin/").content.decode()
    assert client.get("/admin/batches/batch/add/").status_code == 200


def test_the_roles_follow_the_groups_at_every_sign_in_adding_and_removing(client, single_sign_on, identity_provider):
    identity_provider.person("vic", ["chowda-curators"])
    sign_in(client, identity_provider, "vic")
    vic = User.objects.get(email="vic@archive.test")
    vic.groups.add(Group.objects.create(name="Auditors"))  # given by hand in Chowda: not the provider's to take

    identity_provider.person("vic", ["staff"])
    client.logout()
    sign_in(client, identity_provider, "vic")

    assert roles_of("vic@archive.test") == {"groups": ["Auditors", "Viewers"], "staff": True, "superuser": False}
    assert client.get("/admin/batches/batch/").status_code == 200
    assert client.get("/admin/batches/batch/add/").status_code == 403
    assert User.objects.filter(email="vic@archive.test").count() == 1


def test_admins_are_superusers_only_while_the_provider_says_so(client, single_sign_on, identity_provider):
    identity_provider.person("ada", ["chowda-admins"])
    sign_in(client, identity_provider, "ada")
    assert roles_of("ada@archive.test") == {"groups": [], "staff": True, "superuser": True}

    identity_provider.person("ada", ["chowda-curators"])
    client.logout()
    sign_in(client, identity_provider, "ada")

    assert roles_of("ada@archive.test") == {"groups": ["Curators"], "staff": True, "superuser": False}


def test_someone_with_no_mapped_group_gets_a_page_that_says_whom_to_ask(
    client, settings, identity_provider, single_sign_on
):
    use(settings, single_sign_on_from(identity_provider.chowda_env("http://testserver", CHOWDA_OIDC_CONTACT="Dana")))
    identity_provider.person("nora", ["interns"])

    answer = sign_in(client, identity_provider, "nora")

    assert answer["Location"] == "/sso/no-role/"
    page = client.get("/sso/no-role/").content.decode()
    assert "You are signed in as Nora, but the Archive&#x27;s SSO gives you no Chowda role" in page
    assert "it sent the groups interns" in page
    assert "Ask Dana to add you to one of these groups: chowda-admins (Admins), chowda-curators (Curators)" in page
    assert 'id="sso-sign-out"' in page
    assert roles_of("nora@archive.test") == {"groups": [], "staff": False, "superuser": False}
    # Nothing of the admin opens to her: its login page, not a 403, which leads back to whom to ask.
    assert client.get("/admin/batches/batch/")["Location"].startswith("/admin/login/")
    assert 'with no Chowda role:\n  <a href="/sso/no-role/">' in client.get("/admin/login/").content.decode()


def test_losing_every_group_takes_every_role_away(client, single_sign_on, identity_provider):
    identity_provider.person("leo", ["chowda-curators"])
    sign_in(client, identity_provider, "leo")

    identity_provider.person("leo", [])
    client.logout()
    answer = sign_in(client, identity_provider, "leo")

    assert answer["Location"] == "/sso/no-role/"
    assert "it sent no groups in the claim &#x27;groups&#x27;" in client.get("/sso/no-role/").content.decode()
    assert roles_of("leo@archive.test") == {"groups": [], "staff": False, "superuser": False}


def test_a_namespaced_roles_claim_works(client, settings, identity_provider, single_sign_on):
    use(
        settings,
        single_sign_on_from(
            identity_provider.chowda_env(
                "http://testserver",
                CHOWDA_OIDC_ROLES_CLAIM="https://chowda.test/roles",
                CHOWDA_OIDC_ROLE_MAP="admin=Admins,clammer=Curators",
            )
        ),
    )
    identity_provider.person("wes", ["staff"], **{"https://chowda.test/roles": ["clammer"]})

    sign_in(client, identity_provider, "wes")

    assert roles_of("wes@archive.test") == {"groups": ["Curators"], "staff": True, "superuser": False}


@pytest.mark.parametrize("where", ["id_token", "userinfo"])
def test_groups_count_from_the_id_token_or_from_userinfo(client, single_sign_on, identity_provider, where):
    people = {"eve": {"claims": {"email": "eve@archive.test", "name": "Eve"}, where: {"groups": ["chowda-curators"]}}}
    identity_provider.people(people)

    sign_in(client, identity_provider, "eve")

    assert roles_of("eve@archive.test")["groups"] == ["Curators"]


def test_everybody_gets_the_role_of_the_star(client, settings, identity_provider, single_sign_on):
    everybody = identity_provider.chowda_env("http://testserver", CHOWDA_OIDC_ROLE_MAP="*=Viewers")
    use(settings, single_sign_on_from(everybody))
    identity_provider.people({"gil": {"claims": {"email": "gil@archive.test"}}})

    sign_in(client, identity_provider, "gil")

    assert roles_of("gil@archive.test") == {"groups": ["Viewers"], "staff": True, "superuser": False}


def test_the_sign_in_asks_for_state_nonce_and_pkce(client, single_sign_on):
    start = client.post("/sso/login/", {"next": "/admin/batches/"})

    query = parse_qs(urlsplit(start["Location"]).query)
    assert query["response_type"] == ["code"]
    assert set(query["scope"][0].split()) == {"openid", "email", "profile", "groups"}
    assert query["code_challenge_method"] == ["S256"]
    assert len(query["code_challenge"][0]) >= 43
    assert len(query["state"][0]) >= 16
    assert len(query["nonce"][0]) >= 32
    assert "client_secret" not in start["Location"]


def test_it_goes_back_where_it_was_asked_but_never_off_the_site(client, single_sign_on, identity_provider):
    identity_provider.person("pat", ["chowda-curators"])
    assert sign_in(client, identity_provider, "pat", next_url="/admin/batches/")["Location"] == "/admin/batches/"
    client.logout()
    assert sign_in(client, identity_provider, "pat", next_url="https://evil.test/")["Location"] == "/admin/"


def test_an_answer_that_no_sign_in_here_started_gets_a_sentence(client, single_sign_on):
    answer = client.get("/sso/callback/", {"code": "stolen", "state": "made-up"})

    assert answer.status_code in (400, 502)
    assert "start again from Chowda&#x27;s sign-in page" in answer.content.decode()


def test_an_unreachable_identity_provider_gets_a_sentence(client, settings, single_sign_on, unreachable_url):
    use(settings, single_sign_on_from({**_env(single_sign_on), "CHOWDA_OIDC_ISSUER": unreachable_url}))

    answer = client.post("/sso/login/")

    assert answer.status_code == 502
    assert f"Chowda could not reach the identity provider at {unreachable_url}" in answer.content.decode()


def test_a_provider_that_goes_away_during_a_sign_in_gets_a_sentence(
    client, settings, single_sign_on, identity_provider, unreachable_url
):
    identity_provider.person("ivy", ["chowda-curators"])

    def the_provider_goes_away():
        use(settings, single_sign_on_from({**_env(single_sign_on), "CHOWDA_OIDC_ISSUER": unreachable_url}))

    answer = sign_in(client, identity_provider, "ivy", meanwhile=the_provider_goes_away)

    assert answer.status_code == 502
    assert f"Chowda could not reach the identity provider at {unreachable_url}" in answer.content.decode()


def test_a_wrong_client_secret_gets_a_sentence_and_is_never_shown(
    client, settings, single_sign_on, identity_provider, caplog
):
    wrong = "a-wrong-secret-that-must-not-leak"  # pragma: allowlist secret
    use(settings, single_sign_on_from({**_env(single_sign_on), "CHOWDA_OIDC_CLIENT_SECRET": wrong}))
    identity_provider.person("sam", ["chowda-curators"])

    answer = sign_in(client, identity_provider, "sam")

    page = answer.content.decode()
    assert answer.status_code == 502
    assert "The identity provider refused Chowda&#x27;s client ID or secret" in page
    assert "CHOWDA_OIDC_CLIENT_SECRET" in page
    assert wrong not in page
    assert wrong not in caplog.text
    assert "refused Chowda's client ID or secret" in caplog.text
    assert not User.objects.filter(email="sam@archive.test").exists()


def test_an_account_that_is_switched_off_gets_a_sentence(client, single_sign_on, identity_provider):
    identity_provider.person("olga", ["chowda-curators"])
    sign_in(client, identity_provider, "olga")
    User.objects.filter(email="olga@archive.test").update(is_active=False)
    client.logout()

    answer = sign_in(client, identity_provider, "olga")

    assert answer.status_code == 403
    assert "is switched off, so it cannot sign in" in answer.content.decode()


def test_a_local_account_with_the_same_email_is_not_taken_over(client, single_sign_on, identity_provider):
    local = UserFactory(username="kim", email="kim@archive.test", is_staff=True)
    identity_provider.person("kim", ["staff"])

    sign_in(client, identity_provider, "kim")

    assert User.objects.filter(email="kim@archive.test").count() == 2
    local.refresh_from_db()
    assert local.has_usable_password()
    assert not local.socialaccount_set.exists()


@pytest.mark.parametrize(("verified", "linked"), [(True, True), (False, False)])
def test_linking_by_email_needs_the_setting_and_a_verified_address(
    client, settings, single_sign_on, identity_provider, verified, linked
):
    use(settings, single_sign_on_from({**_env(single_sign_on), "CHOWDA_OIDC_LINK_BY_EMAIL": "true"}))
    local = UserFactory(username="lou", email="lou@archive.test")
    identity_provider.person("lou", ["staff"], email_verified=verified)

    sign_in(client, identity_provider, "lou")

    assert local.socialaccount_set.exists() is linked
    assert User.objects.filter(email="lou@archive.test").count() == (1 if linked else 2)


def test_the_break_glass_superuser_is_never_linked_by_email(client, settings, single_sign_on, identity_provider):
    use(settings, single_sign_on_from({**_env(single_sign_on), "CHOWDA_OIDC_LINK_BY_EMAIL": "true"}))
    root = UserFactory(username="root", email="root@archive.test", is_superuser=True, is_staff=True)
    identity_provider.person("root", ["staff"])

    sign_in(client, identity_provider, "root")

    root.refresh_from_db()
    assert root.has_usable_password()
    assert not root.socialaccount_set.exists()


def test_logout_ends_the_session_and_goes_on_to_the_providers_logout(client, single_sign_on, identity_provider):
    identity_provider.person("max", ["chowda-curators"])
    sign_in(client, identity_provider, "max")

    answer = client.post("/admin/logout/")

    assert answer.status_code == 302
    end_session = urlsplit(answer["Location"])
    assert f"{end_session.scheme}://{end_session.netloc}{end_session.path}" == f"{identity_provider.issuer}/session/end"
    query = parse_qs(end_session.query)
    assert query["post_logout_redirect_uri"] == ["http://testserver/sso/signed-out/"]
    assert query["client_id"] == [single_sign_on.client_id]
    assert query["id_token_hint"]
    assert client.get("/admin/")["Location"].startswith("/admin/login/")


def test_a_local_accounts_logout_is_the_admins_own(client, single_sign_on, curator):
    client.force_login(curator)

    answer = client.post("/admin/logout/")

    assert answer.status_code == 200
    assert "Logged out" in answer.content.decode()


def test_nothing_of_it_is_served_when_it_is_not_set_up(client, db):
    assert client.post("/sso/login/").status_code == 404
    assert client.get("/sso/callback/").status_code == 404
    assert "Sign in with" not in client.get("/admin/login/").content.decode()


def _env(config):
    return {
        "CHOWDA_OIDC_ISSUER": config.issuer,
        "CHOWDA_OIDC_CLIENT_ID": config.client_id,
        "CHOWDA_OIDC_CLIENT_SECRET": config.client_secret,
        "CHOWDA_OIDC_NAME": config.name,
        "CHOWDA_OIDC_ROLE_MAP": ",".join(f"{group}={role}" for group, role in config.role_map.items()),
    }
