"""django-allauth's hooks, set in settings (ACCOUNT_ADAPTER, SOCIALACCOUNT_ADAPTER): how a sign-in ends in Chowda.

allauth signs people in; Chowda decides what they may do. Only the single sign-on provider is served
(sso/urls.py): allauth's own pages (local sign-up, password reset, its login form) are not, so local
accounts keep the admin's login page and nothing else.
"""

from __future__ import annotations

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core.exceptions import ImmediateHttpResponse
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.urls import reverse

from sso import views
from sso.provider import merged_claims
from sso.services import roles_reconcile, sign_in_problem


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request) -> bool:
        # Nobody signs up for a local account; people who sign in with the provider get one (below).
        return False

    def post_login(self, request, user, *, signal_kwargs=None, redirect_url=None, **kwargs):
        sociallogin = (signal_kwargs or {}).get("sociallogin")
        if sociallogin is not None:
            data = sociallogin.account.extra_data
            signed_in = roles_reconcile(user, [data.get("id_token") or {}, data.get("userinfo") or {}], config())
            views.remember_sign_in(request, getattr(request, "sso_id_token", None))
            if signed_in.has_role:
                messages.success(request, signed_in.sentence)
            else:
                views.remember_no_role(request, signed_in.sentence)
                redirect_url = reverse("sso:no_role")
        return super().post_login(request, user, signal_kwargs=signal_kwargs, redirect_url=redirect_url, **kwargs)

    def add_message(self, *args, **kwargs) -> None:
        """allauth's own messages ("Successfully signed in…") are left out: post_login says what matters."""

    def respond_user_inactive(self, request, user):
        return views.problem(
            request,
            f"The Chowda account {user.get_username()} is switched off, so it cannot sign in: ask Chowda's "
            "administrator to switch it on (Active, on the user's page).",
            status=403,
        )


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    def is_open_for_signup(self, request, sociallogin) -> bool:
        return True

    def is_auto_signup_allowed(self, request, sociallogin) -> bool:
        # Never allauth's sign-up form: a username already taken is given a suffix instead.
        return True

    def authenticate_by_email(self, sociallogin):
        """The one local account to link this sign-in to by e-mail, only when CHOWDA_OIDC_LINK_BY_EMAIL is on
        and the provider says the address is verified. Never a superuser: the break-glass account keeps its
        password (allauth removes a linked account's password when Chowda had not verified the address)."""
        if not config().link_by_email:
            return None
        claims = merged_claims(sociallogin.account.extra_data)
        email = claims.get("email")
        if not email or claims.get("email_verified") not in (True, "true"):
            return None
        users = list(get_user_model().objects.filter(email__iexact=email, is_superuser=False)[:2])
        return (users[0], email) if len(users) == 1 else None

    def on_authentication_error(self, request, provider, error=None, exception=None, extra_context=None):
        raise ImmediateHttpResponse(views.problem(request, sign_in_problem(config(), error, exception)))


def config():
    return settings.SINGLE_SIGN_ON
