"""Single sign-on's doors: start a sign-in, take the provider's answer, the no-role page, and logout."""

from __future__ import annotations

import logging

import requests
from allauth.socialaccount.adapter import get_adapter
from allauth.socialaccount.providers.base.constants import AuthProcess
from allauth.socialaccount.providers.oauth2.views import OAuth2CallbackView
from django.conf import settings
from django.contrib import admin
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.views.decorators.http import require_POST

from sso.configuration import PROVIDER_ID
from sso.provider import ArchiveAdapter, SignInFailed
from sso.services import sign_in_problem

log = logging.getLogger(__name__)
ID_TOKEN_SESSION_KEY = "sso_id_token"
NO_ROLE_SESSION_KEY = "sso_no_role"
# What talking to the identity provider raises outside allauth's own error handling: it cannot be reached, it
# answered what Chowda refuses (SignInFailed), or its discovery document is not JSON.
PROVIDER_TROUBLE = (requests.RequestException, SignInFailed, ValueError)


def page(request, title: str, sentence: str, status: int = 200, **flags):
    """One of single sign-on's plain pages, under the admin's header; ``flags``: problem, signed_in."""
    context = {**admin.site.each_context(request), "title": title, "sentence": sentence, **flags}
    return render(request, "sso/page.html", context, status=status)


def problem(request, sentence: str, status: int = 502):
    """The page that says why a sign-in did not happen, and leads back to the sign-in page."""
    return page(request, "Sign-in did not work", sentence, status, problem=True)


def configured():
    if settings.SINGLE_SIGN_ON is None:
        raise Http404("Single sign-on is not set up here.")
    return settings.SINGLE_SIGN_ON


@require_POST
def login(request):
    """Send the browser to the identity provider, with state, nonce and PKCE; back to ``next`` afterwards."""
    config = configured()
    next_url = request.POST.get("next") or reverse("admin:index")
    if not url_has_allowed_host_and_scheme(next_url, {request.get_host()}, request.is_secure()):
        next_url = reverse("admin:index")
    provider = get_adapter(request).get_provider(request, PROVIDER_ID)
    try:
        return provider.redirect(request, process=AuthProcess.LOGIN, next_url=next_url)
    except PROVIDER_TROUBLE as error:
        return problem(request, sign_in_problem(config, exception=error))


def callback(request):
    """The provider's answer: allauth checks the state and exchanges the code (sso/provider.py checks the rest)."""
    config = configured()
    try:
        return OAuth2CallbackView.adapter_view(ArchiveAdapter(request))(request)
    except PROVIDER_TROUBLE as error:
        # Discovery, read before allauth's own error handling starts: the provider went away mid-sign-in.
        return problem(request, sign_in_problem(config, exception=error))


def remember_sign_in(request, raw_id_token: str | None) -> None:
    """Keep the ID token of a single sign-on session: logout hands it to the provider's end_session_endpoint."""
    if raw_id_token:
        request.session[ID_TOKEN_SESSION_KEY] = raw_id_token


def remember_no_role(request, sentence: str) -> None:
    request.session[NO_ROLE_SESSION_KEY] = sentence


@login_required
def no_role(request):
    sentence = request.session.get(NO_ROLE_SESSION_KEY) or (
        "You are signed in, but you have no Chowda role: ask whoever manages your account to give you one."
    )
    return page(request, "No Chowda role", sentence, signed_in=True)


def signed_out(request):
    config = configured()
    sentence = f"You are signed out of Chowda and of {config.name}."
    return page(request, "Signed out", sentence)


def logout(request):
    """The admin's logout; after a single sign-on session, on to the provider's logout when it offers one."""
    id_token = request.session.get(ID_TOKEN_SESSION_KEY)
    response = admin.site.logout(request)
    if request.method != "POST" or not id_token or settings.SINGLE_SIGN_ON is None:
        return response
    end_session = provider_logout_url(request, id_token)
    return HttpResponseRedirect(end_session) if end_session else response


def provider_logout_url(request, id_token: str) -> str | None:
    """The provider's end_session_endpoint, with this client, the ID token and where to come back; None if the
    provider has none or cannot be reached (Chowda's own session is over either way)."""
    try:
        endpoint = ArchiveAdapter(request).openid_config.get("end_session_endpoint")
    except PROVIDER_TROUBLE as error:
        log.warning("Signed out of Chowda but not of the identity provider: %s", type(error).__name__)
        return None
    if not endpoint:
        return None
    query = urlencode(
        {
            "id_token_hint": id_token,
            "client_id": settings.SINGLE_SIGN_ON.client_id,
            "post_logout_redirect_uri": settings.SITE_URL + reverse("sso:signed_out"),
        }
    )
    return f"{endpoint}{'&' if '?' in endpoint else '?'}{query}"
