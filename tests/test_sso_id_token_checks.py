"""Chowda accepts an ID token only with the nonce it sent, signed with RS256 by a key of the issuer's JWKS."""

import time

import jwt
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa
from django.contrib.auth import get_user_model
from django.test import RequestFactory

from sso.provider import NONCE_SESSION_KEY, ArchiveAdapter, SignInFailed
from tests.identity_provider import sign_in

pytestmark = pytest.mark.django_db


def test_a_sign_in_whose_nonce_differs_is_refused(client, single_sign_on, identity_provider):
    identity_provider.person("nina", ["chowda-curators"])

    def another_sign_in_started_meanwhile():
        session = client.session
        session[NONCE_SESSION_KEY] = "a-nonce-of-another-sign-in"
        session.save()

    answer = sign_in(client, identity_provider, "nina", meanwhile=another_sign_in_started_meanwhile)

    assert answer.status_code == 502
    assert "its nonce differs" in answer.content.decode()
    assert not get_user_model().objects.filter(email="nina@archive.test").exists()


def forged(identity_provider, single_sign_on, key, algorithm="RS256"):
    kid = requests.get(f"{identity_provider.issuer}/jwks", timeout=10).json()["keys"][0]["kid"]
    claims = {
        "iss": identity_provider.issuer,
        "aud": single_sign_on.client_id,
        "sub": "mallory",
        "exp": int(time.time()) + 300,
        "iat": int(time.time()),
        "groups": ["chowda-admins"],
    }
    return jwt.encode(claims, key, algorithm=algorithm, headers={"kid": kid})


def check(single_sign_on, token):
    adapter = ArchiveAdapter(RequestFactory().get("/sso/callback/"))
    app = adapter.get_provider().app
    return adapter.verified_id_token(app, token)


def test_an_id_token_signed_with_a_key_not_in_the_issuers_jwks_is_refused(single_sign_on, identity_provider):
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    with pytest.raises(SignInFailed, match="did not pass Chowda's checks"):
        check(single_sign_on, forged(identity_provider, single_sign_on, stranger))


def test_an_id_token_signed_with_the_client_secret_is_refused(single_sign_on, identity_provider):
    token = forged(identity_provider, single_sign_on, single_sign_on.client_secret, algorithm="HS256")

    with pytest.raises(SignInFailed, match="signed with 'HS256', and Chowda accepts only RS256"):
        check(single_sign_on, token)


def test_an_unsigned_id_token_is_refused(single_sign_on, identity_provider):
    token = forged(identity_provider, single_sign_on, None, algorithm="none")

    with pytest.raises(SignInFailed, match="signed with 'none'"):
        check(single_sign_on, token)
