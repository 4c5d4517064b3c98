"""Signing in with the real identity provider: roles from its groups, at every sign-in."""

import pytest
from django.contrib.auth import get_user_model

from tests.identity_provider import sign_in

pytestmark = pytest.mark.django_db


def test_a_curator_signs_in_and_lands_in_the_admin(client, single_sign_on, identity_provider):
    identity_provider.person("carla", ["chowda-curators"])

    answer = sign_in(client, identity_provider, "carla")

    assert answer.status_code == 302, answer.content.decode()
    assert answer["Location"] == "/admin/"
    carla = get_user_model().objects.get(email="carla@archive.test")
    assert carla.is_staff
    assert list(carla.groups.values_list("name", flat=True)) == ["Curators"]
