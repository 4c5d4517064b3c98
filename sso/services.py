"""What single sign-on does to Chowda's people: their roles at every sign-in, and the sentences they are shown."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

import requests
from allauth.socialaccount.providers.base.constants import AuthError
from django.contrib.auth.models import Group
from django.db import transaction

from sso.configuration import ADMINS, EVERYBODY, GROUP_ROLES, SingleSignOn
from sso.provider import SignInFailed

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SignedIn:
    """The roles a sign-in gave, and the sentence that tells the person so."""

    roles: frozenset[str]
    sentence: str

    @property
    def has_role(self) -> bool:
        return bool(self.roles)


def claim_values(claims: dict, name: str) -> set[str]:
    """The values of the claim ``name``: a list or one string; a dotted path (``realm_access.roles``) if no
    claim has that exact name (namespaced claims such as ``https://example.org/roles`` have dots)."""
    value = claims.get(name)
    if value is None and "." in name:
        value = claims
        for key in name.split("."):
            value = value.get(key) if isinstance(value, dict) else None
    if isinstance(value, str):
        return {value}
    if isinstance(value, list | tuple):
        return {str(item) for item in value if isinstance(item, str | int)}
    return set()


def roles_reconcile(user, claim_sets: Iterable[dict], config: SingleSignOn) -> SignedIn:
    """Give ``user`` exactly the roles that the identity provider's groups map to, at every sign-in.

    ``claim_sets`` are the ID token's and userinfo's claims; a group in either counts. The role groups in
    the role map are added or removed; groups that the map does not name are left alone. Admins makes a
    superuser (and taking it away unmakes one) only when the map names Admins. ``is_staff`` follows: on with
    a role, off without. Writes the user and their groups; returns what they now have.
    """
    groups = set().union(*(claim_values(claims, config.roles_claim) for claims in claim_sets))
    roles = config.roles_for(groups)
    managed = [name for name in GROUP_ROLES if name in config.mapped_roles]
    with transaction.atomic():
        role_groups = {group.name: group for group in Group.objects.filter(name__in=managed)}
        user.groups.remove(*[group for name, group in role_groups.items() if name not in roles])
        user.groups.add(*[group for name, group in role_groups.items() if name in roles])
        if ADMINS in config.mapped_roles:
            user.is_superuser = ADMINS in roles
        user.is_staff = bool(roles) or user.is_superuser
        user.save(update_fields=["is_staff", "is_superuser"])
    who = user.get_full_name() or user.get_username()
    if roles:
        return SignedIn(frozenset(roles), f"Signed in with {config.name} as {who}: {', '.join(sorted(roles))}.")
    log.info("%s signed in with no Chowda role; the claim %r had %s", who, config.roles_claim, sorted(groups))
    return SignedIn(frozenset(), no_role_sentence(who, groups, config))


def no_role_sentence(who: str, groups: set[str], config: SingleSignOn) -> str:
    sent = (
        f"it sent the groups {', '.join(sorted(groups))}, and none of them is one of Chowda's"
        if groups
        else f"it sent no groups in the claim {config.roles_claim!r}"
    )
    wanted = ", ".join(f"{group} ({role})" for group, role in sorted(config.role_map.items()) if group != EVERYBODY)
    ask = f"Ask {config.contact}" if config.contact else f"Ask whoever manages your account in {config.name}"
    return (
        f"You are signed in as {who}, but {config.name} gives you no Chowda role ({sent}), so there is nothing "
        f"here for you yet. {ask} to add you to one of these groups: {wanted}; then sign in again."
    )


def sign_in_problem(config: SingleSignOn, error: str | None = None, exception: BaseException | None = None) -> str:
    """The sentence shown when a sign-in could not complete, logged too (never with the client secret)."""
    if isinstance(exception, SignInFailed):
        sentence = str(exception)
    elif isinstance(exception, requests.RequestException):
        sentence = (
            f"Chowda could not reach the identity provider at {config.issuer} ({type(exception).__name__}): try "
            "again in a few minutes; if it goes on, ask Chowda's operator to check CHOWDA_OIDC_ISSUER and that "
            "this server can reach it."
        )
    elif error == AuthError.CANCELLED:
        sentence = f"The sign-in was cancelled at {config.name}: start again from Chowda's sign-in page."
    elif exception is None and error == AuthError.UNKNOWN:
        sentence = (
            f"{config.name} did not sign you in, or this sign-in was not started in this browser (or too long "
            "ago): start again from Chowda's sign-in page."
        )
    else:
        sentence = (
            f"The sign-in with {config.name} could not complete: start again from Chowda's sign-in page; if it "
            "happens again, ask Chowda's operator to look at the server's log."
        )
    sentence = sentence.replace(config.client_secret, "…")
    detail = str(exception).replace(config.client_secret, "…") if exception else error
    log.warning("Single sign-on failed: %s (%s: %s)", sentence, type(exception).__name__, detail)
    return sentence
