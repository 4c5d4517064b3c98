"""People who sign in with single sign-on meet the same permissions as local ones: the API's and the admin's."""

import pytest
from rest_framework.test import APIClient

from tests.identity_provider import sign_in
from tests.test_api_permissions import ENDPOINTS, call, world  # noqa: F401  (world: the matrix's fixture)

pytestmark = pytest.mark.django_db
GROUPS = {"viewer": ["staff"], "curator": ["chowda-curators"]}


@pytest.fixture(params=sorted(GROUPS))
def persona(request, single_sign_on, identity_provider):
    """(who, an API client signed in as them through the identity provider, with their session)."""
    login = f"sso-{request.param}"
    identity_provider.person(login, GROUPS[request.param])
    client = APIClient()
    assert sign_in(client, identity_provider, login).status_code == 302
    return request.param, client


@pytest.mark.parametrize(
    ("method", "url", "body", "needs", "allowed"), ENDPOINTS, ids=[f"{e[0]} {e[1]}" for e in ENDPOINTS]
)
def test_each_endpoint_answers_a_single_sign_on_persona_as_a_local_one(
    world,  # noqa: F811
    persona,
    method,
    url,
    body,
    needs,
    allowed,
):
    who, client = persona

    response = call(client, method, url.format(**world["ids"]), body(world) if body else None)

    if who == "viewer" and needs == "write":
        assert response.status_code == 403, response.content
    else:
        assert response.status_code == allowed, response.content


ADMIN_PAGES = [
    ("/admin/batches/batch/", "read"),
    ("/admin/batches/batch/add/", "write"),
    ("/admin/pipelines/pipeline/", "read"),
    ("/admin/pipelines/pipeline/add/", "write"),
    ("/admin/clams_apps/clamsapp/add/", "write"),
    ("/admin/runs/run/", "read"),
    ("/admin/auth/user/", "admin"),
]


@pytest.mark.parametrize(("path", "needs"), ADMIN_PAGES)
def test_the_admin_opens_to_a_single_sign_on_persona_as_to_a_local_one(persona, path, needs):
    who, client = persona

    allowed = needs == "read" or (needs == "write" and who == "curator")

    assert client.get(path).status_code == (200 if allowed else 403)
