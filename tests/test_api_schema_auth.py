"""The API's schema and its Swagger page are for people who may use the API, like the rest of it."""

import pytest
from rest_framework.authtoken.models import Token

pytestmark = pytest.mark.django_db


def test_an_anonymous_request_for_the_schema_is_refused_with_a_challenge(client):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/json")

    assert client.get("/api/schema/").status_code == 401  # in the schema's own YAML when JSON is not asked for
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert response.json() == {"detail": "Authentication credentials were not provided."}


def test_an_anonymous_visit_to_the_swagger_page_is_sent_to_the_login_page(client):
    response = client.get("/api/docs/")

    assert response.status_code == 302
    assert response["Location"] == "/admin/login/?next=/api/docs/"


def test_a_logged_in_viewer_gets_the_schema_and_the_swagger_page(viewer_client):
    schema = viewer_client.get("/api/schema/", {"format": "json"})

    assert schema.status_code == 200
    assert "/api/batches/{id}/start/" in schema.json()["paths"]
    assert viewer_client.get("/api/docs/").status_code == 200


def test_a_script_gets_the_schema_with_its_token(client, viewer):
    token = Token.objects.create(user=viewer)

    response = client.get("/api/schema/", HTTP_AUTHORIZATION=f"Token {token.key}")

    assert response.status_code == 200
    assert b"/api/batches/{id}/start/" in response.content
