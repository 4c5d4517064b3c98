"""The CHOWDA_OIDC_* variables: off when unset; a wrong value stops start-up with a sentence saying how to fix it."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from sso.configuration import GROUP_ROLES, single_sign_on_from

ROOT = Path(__file__).resolve().parent.parent
SET_UP = {
    "CHOWDA_OIDC_ISSUER": "https://login.archive.test/realms/archive",
    "CHOWDA_OIDC_CLIENT_ID": "chowda",
    "CHOWDA_OIDC_CLIENT_SECRET": "s3cret",  # pragma: allowlist secret
    "CHOWDA_OIDC_ROLE_MAP": "chowda-admins=Admins, chowda-curators=Curators,staff=Viewers",
}


def test_it_is_off_without_an_issuer():
    assert single_sign_on_from({}) is None
    # Docker Compose passes every variable it names, empty when not given.
    assert single_sign_on_from(dict.fromkeys(SET_UP, "") | {"CHOWDA_OIDC_ONLY": ""}) is None


def test_the_defaults():
    config = single_sign_on_from(SET_UP)

    assert config.name == "single sign-on"
    assert config.roles_claim == "groups"
    assert config.scopes == ("openid", "email", "profile", "groups")
    assert config.role_map == {"chowda-admins": "Admins", "chowda-curators": "Curators", "staff": "Viewers"}
    assert config.only is False
    assert config.link_by_email is False
    assert config.discovery_url == "https://login.archive.test/realms/archive/.well-known/openid-configuration"


def test_an_issuer_with_a_trailing_slash_finds_its_discovery_document():
    config = single_sign_on_from(SET_UP | {"CHOWDA_OIDC_ISSUER": "https://archive.auth0.test/"})

    assert config.discovery_url == "https://archive.auth0.test/.well-known/openid-configuration"


def test_a_group_can_give_several_roles_and_several_groups_one_role():
    config = single_sign_on_from(SET_UP | {"CHOWDA_OIDC_ROLE_MAP": "a=Curators,b=Curators,c=Viewers"})

    assert config.roles_for({"a", "c", "unknown"}) == {"Curators", "Viewers"}
    assert config.roles_for({"unknown"}) == set()


@pytest.mark.parametrize(
    ("variables", "sentence"),
    [
        ({"CHOWDA_OIDC_ROLE_MAP": "chowda-curators"}, "has the entry 'chowda-curators', which is not GROUP=ROLE"),
        ({"CHOWDA_OIDC_ROLE_MAP": "=Curators"}, "has the entry '=Curators', which is not GROUP=ROLE"),
        ({"CHOWDA_OIDC_ROLE_MAP": "staff=Editors"}, "maps 'staff' to 'Editors', which is not one of Chowda's roles"),
        ({"CHOWDA_OIDC_ROLE_MAP": "staff=curators"}, "use Admins, Curators or Viewers (spelled so"),
        ({"CHOWDA_OIDC_ROLE_MAP": "staff=Viewers,staff=Curators"}, "maps 'staff' twice"),
        ({"CHOWDA_OIDC_ROLE_MAP": ""}, "CHOWDA_OIDC_ROLE_MAP is empty, so nobody who signs in would get a role"),
        ({"CHOWDA_OIDC_CLIENT_ID": ""}, "CHOWDA_OIDC_ISSUER is set but CHOWDA_OIDC_CLIENT_ID is not"),
        ({"CHOWDA_OIDC_CLIENT_SECRET": ""}, "CHOWDA_OIDC_ISSUER is set but CHOWDA_OIDC_CLIENT_SECRET is not"),
        ({"CHOWDA_OIDC_ISSUER": "login.archive.test"}, "is not an https:// URL"),
        ({"CHOWDA_OIDC_ISSUER": "http://login.archive.test"}, "Plain http:// is accepted only for a provider on"),
        ({"CHOWDA_OIDC_ONLY": "maybe"}, "CHOWDA_OIDC_ONLY is 'maybe': set it to true or false."),
        ({"CHOWDA_OIDC_LINK_BY_EMAIL": "sure"}, "CHOWDA_OIDC_LINK_BY_EMAIL is 'sure': set it to true or false."),
        ({"CHOWDA_OIDC_SCOPES": "email groups"}, "without 'openid'"),
    ],
)
def test_a_wrong_value_is_refused_with_a_sentence(variables, sentence):
    with pytest.raises(ImproperlyConfigured) as refused:
        single_sign_on_from(SET_UP | variables)

    assert sentence in str(refused.value)
    assert "s3cret" not in str(refused.value)


def test_half_a_configuration_is_refused():
    with pytest.raises(ImproperlyConfigured) as refused:
        single_sign_on_from({"CHOWDA_OIDC_CLIENT_ID": "chowda", "CHOWDA_OIDC_ROLE_MAP": "staff=Viewers"})

    assert str(refused.value).startswith(
        "CHOWDA_OIDC_CLIENT_ID, CHOWDA_OIDC_ROLE_MAP are set but CHOWDA_OIDC_ISSUER is not"
    )


def test_the_roles_are_chowdas_groups(db):
    from django.contrib.auth.models import Group

    assert set(Group.objects.filter(name__in=GROUP_ROLES).values_list("name", flat=True)) == set(GROUP_ROLES)


def run_check(**variables):
    clean = {k: v for k, v in os.environ.items() if not k.startswith("CHOWDA_")}
    return subprocess.run(
        [sys.executable, "manage.py", "check"],
        env={**clean, "DJANGO_SETTINGS_MODULE": "chowda_site.settings", **variables},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_chowda_does_not_start_with_a_wrong_role_map():
    result = run_check(**(SET_UP | {"CHOWDA_OIDC_ROLE_MAP": "chowda-curators=Curators,staff=Editors"}))

    assert result.returncode != 0
    assert "CHOWDA_OIDC_ROLE_MAP maps 'staff' to 'Editors', which is not one of Chowda's roles" in result.stderr
    assert "s3cret" not in result.stderr


def test_chowda_starts_with_a_good_configuration():
    result = run_check(**SET_UP)

    assert result.returncode == 0, result.stderr
