"""Reconciling a person's roles with the identity provider's groups: what is added, removed and left alone."""

import pytest
from django.contrib.auth.models import Group

from sso.configuration import single_sign_on_from
from sso.services import claim_values, roles_reconcile
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
CONFIG = single_sign_on_from(
    {
        "CHOWDA_OIDC_ISSUER": "https://login.archive.test",
        "CHOWDA_OIDC_CLIENT_ID": "chowda",
        "CHOWDA_OIDC_CLIENT_SECRET": "s3cret",  # pragma: allowlist secret
        "CHOWDA_OIDC_ROLE_MAP": "curators=Curators,staff=Viewers",
    }
)


@pytest.mark.parametrize(
    ("claims", "name", "values"),
    [
        ({"groups": ["a", "b"]}, "groups", {"a", "b"}),
        ({"groups": "a"}, "groups", {"a"}),
        ({"groups": ["a", 7, {"odd": 1}]}, "groups", {"a", "7"}),
        ({"https://example.org/roles": ["admin"]}, "https://example.org/roles", {"admin"}),
        ({"realm_access": {"roles": ["curators"]}}, "realm_access.roles", {"curators"}),
        ({"realm_access": ["not a mapping"]}, "realm_access.roles", set()),
        ({"groups": None}, "groups", set()),
        ({}, "groups", set()),
    ],
)
def test_the_claims_values(claims, name, values):
    assert claim_values(claims, name) == values


def test_it_adds_the_mapped_roles_and_removes_the_others_but_leaves_the_unmapped_groups():
    user = UserFactory(is_staff=False)
    auditors = Group.objects.create(name="Auditors")
    user.groups.add(Group.objects.get(name="Viewers"), auditors)

    signed_in = roles_reconcile(user, [{"groups": ["curators"]}, {}], CONFIG)

    assert signed_in.roles == {"Curators"}
    assert set(user.groups.values_list("name", flat=True)) == {"Curators", "Auditors"}
    user.refresh_from_db()
    assert user.is_staff


def test_a_group_in_userinfo_counts_as_one_in_the_id_token():
    user = UserFactory()

    roles_reconcile(user, [{"groups": ["curators"]}, {"groups": ["staff"]}], CONFIG)

    assert set(user.groups.values_list("name", flat=True)) == {"Curators", "Viewers"}


def test_without_a_role_staff_status_goes_and_a_superuser_stays_one_when_admins_is_not_mapped():
    user = UserFactory(is_staff=True)
    user.groups.add(Group.objects.get(name="Curators"))
    root = UserFactory(is_staff=True, is_superuser=True)

    nothing = roles_reconcile(user, [{"groups": ["interns"]}], CONFIG)
    roles_reconcile(root, [{}], CONFIG)

    assert not nothing.has_role
    user.refresh_from_db()
    root.refresh_from_db()
    assert (user.is_staff, list(user.groups.all())) == (False, [])
    assert (root.is_staff, root.is_superuser) == (True, True)
