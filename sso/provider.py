"""The archive's OpenID Connect provider, as a django-allauth provider.

allauth's own ``openid_connect`` provider sends no nonce and, when it fetched the ID token itself, does not
check its signature. This one adds both: every sign-in carries a fresh nonce that the ID token must repeat,
and every ID token must be signed with RS256 by a key of the issuer's JWKS. PKCE (S256) and state are
allauth's. Claims are the ID token's and userinfo's merged (Microsoft Entra ID sends groups only in the ID
token), so the roles (sso/services.py) see both.

allauth finds this module by name (``<app>.provider``, ``provider_classes``) in every installed app.
"""

from __future__ import annotations

import secrets

import jwt
from allauth.socialaccount.internal import jwtkit
from allauth.socialaccount.providers.oauth2.client import OAuth2Error
from allauth.socialaccount.providers.openid_connect.provider import OpenIDConnectProvider
from allauth.socialaccount.providers.openid_connect.views import OpenIDConnectOAuth2Adapter
from django.conf import settings
from django.urls import reverse

from sso.configuration import PROVIDER_ID

NONCE_SESSION_KEY = "sso_nonce"
ID_TOKEN_ALGORITHM = "RS256"


class SignInFailed(OAuth2Error):
    """A sign-in the identity provider's answer cannot complete; the message is the sentence to show."""


def merged_claims(data: dict) -> dict:
    """The ID token's claims with userinfo's over them: what the provider says of the person."""
    return {**(data.get("id_token") or {}), **(data.get("userinfo") or {})}


class ArchiveAdapter(OpenIDConnectOAuth2Adapter):
    """Talks to the identity provider: discovery, the token, userinfo, and the ID token's checks."""

    def __init__(self, request):
        super().__init__(request, PROVIDER_ID)

    @property
    def openid_config(self) -> dict:
        config = super().openid_config
        issuer = settings.SINGLE_SIGN_ON.issuer
        if str(config.get("issuer", "")).rstrip("/") != issuer.rstrip("/"):
            raise SignInFailed(
                f"The identity provider at {issuer} says its issuer is {config.get('issuer')!r}: set "
                "CHOWDA_OIDC_ISSUER to exactly that."
            )
        return config

    def get_callback_url(self, request, app) -> str:
        # The site's public address, not the request's: behind an HTTPS proxy the request looks like plain HTTP,
        # and the redirect URI must be exactly the https:// one registered with the provider.
        return settings.SITE_URL + reverse("sso:callback")

    def get_access_token_data(self, request, app, client, pkce_code_verifier=None):
        try:
            return super().get_access_token_data(request, app, client, pkce_code_verifier=pkce_code_verifier)
        except OAuth2Error as error:
            # RFC 6749 5.2: a wrong client ID or secret is `invalid_client`. The answer's text is not shown:
            # it is the provider's, and Chowda says what to do instead.
            if "invalid_client" in str(error):
                raise SignInFailed(
                    "The identity provider refused Chowda's client ID or secret, so nobody can sign in with it: "
                    "the operator should check CHOWDA_OIDC_CLIENT_ID and CHOWDA_OIDC_CLIENT_SECRET against the "
                    "client registered there."
                ) from None
            raise SignInFailed(
                "The identity provider did not give Chowda a token for this sign-in: try again, and if it "
                "happens again ask Chowda's operator to look at the server's log."
            ) from error

    def complete_login(self, request, app, token, **kwargs):
        raw_id_token = kwargs["response"].get("id_token")
        if not raw_id_token:
            raise SignInFailed(
                "The identity provider sent no ID token: the operator should make sure the client is an OpenID "
                "Connect client and CHOWDA_OIDC_SCOPES includes openid."
            )
        id_token = self.verified_id_token(app, raw_id_token)
        expected_nonce = request.session.pop(NONCE_SESSION_KEY, None)
        if not expected_nonce or not secrets.compare_digest(str(id_token.get("nonce", "")), expected_nonce):
            raise SignInFailed(
                "This sign-in's answer does not belong to the sign-in started in this browser (its nonce "
                "differs), so Chowda did not accept it: start again from Chowda's sign-in page."
            )
        data = {"id_token": id_token}
        if self.openid_config.get("userinfo_endpoint"):
            userinfo = self._fetch_user_info(token.token)
            if userinfo.get("sub") != id_token.get("sub"):
                raise SignInFailed(
                    "The identity provider's userinfo is about someone else than its ID token, so Chowda did not "
                    "accept this sign-in."
                )
            data["userinfo"] = userinfo
        # Kept until the sign-in completes, for the provider's logout (sso/views.py).
        request.sso_id_token = raw_id_token
        return self.get_provider().sociallogin_from_response(request, data)

    def verified_id_token(self, app, raw_id_token: str) -> dict:
        """The ID token's claims once its RS256 signature, issuer, audience and expiry are checked."""
        try:
            algorithm = jwt.get_unverified_header(raw_id_token).get("alg")
        except jwt.PyJWTError:
            algorithm = None
        if algorithm != ID_TOKEN_ALGORITHM:
            raise SignInFailed(
                f"The identity provider's ID token is signed with {algorithm!r}, and Chowda accepts only "
                f"{ID_TOKEN_ALGORITHM}: the operator should set the client's ID token signing algorithm to "
                f"{ID_TOKEN_ALGORITHM} there."
            )
        try:
            return jwtkit.verify_and_decode(
                credential=raw_id_token,
                keys_url=self.openid_config["jwks_uri"],
                issuer=self.openid_config["issuer"],
                audience=app.client_id,
                lookup_kid=jwtkit.lookup_kid_jwk,
                verify_signature=True,
            )
        except (OAuth2Error, KeyError) as error:
            raise SignInFailed(
                "The identity provider's ID token did not pass Chowda's checks (its signature against the "
                "issuer's keys, its issuer, audience and expiry), so Chowda did not accept this sign-in."
            ) from error


class ArchiveProvider(OpenIDConnectProvider):
    id = PROVIDER_ID
    name = "single sign-on"
    oauth2_adapter_class = ArchiveAdapter
    pkce_enabled_default = True

    def get_login_url(self, request, **kwargs) -> str:
        return reverse("sso:login")

    def get_callback_url(self) -> str:
        return reverse("sso:callback")

    def get_oauth2_adapter(self, request) -> ArchiveAdapter:
        return ArchiveAdapter(request)

    def redirect(self, request, process, next_url=None, data=None, **kwargs):
        nonce = secrets.token_urlsafe(32)
        request.session[NONCE_SESSION_KEY] = nonce
        auth_params = {**self.get_auth_params(), "nonce": nonce}
        return super().redirect(request, process, next_url, data, auth_params=auth_params, **kwargs)

    def extract_uid(self, data) -> str:
        return str(merged_claims(data)["sub"])

    def extract_common_fields(self, data) -> dict:
        return super().extract_common_fields({"userinfo": merged_claims(data)})

    def extract_email_addresses(self, data) -> list:
        return super().extract_email_addresses({"userinfo": merged_claims(data)})


provider_classes = [ArchiveProvider]
