"""Single sign-on's settings, read once from the CHOWDA_OIDC_* variables by chowda_site/settings.py.

Loaded while Django's settings load, so it imports nothing of Django's apps. A bad value raises
ImproperlyConfigured with a sentence that says which variable is wrong and how to fix it: every server,
worker and command then refuses to start rather than sign people in with half a configuration.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

# Chowda's roles. Curators and Viewers are the groups of ops/roles.py; Admins are superusers.
ADMINS = "Admins"
GROUP_ROLES = ("Curators", "Viewers")
ROLES = (ADMINS, *GROUP_ROLES)
# A role map's entry for everybody who signs in, whatever their groups (for providers that send none).
EVERYBODY = "*"
# The allauth provider (sso/provider.py) and its one app.
PROVIDER_ID = "archive"
DEFAULT_SCOPES = "openid email profile groups"
DEFAULT_ROLES_CLAIM = "groups"

TRUE = {"true", "1", "yes", "on"}
FALSE = {"false", "0", "no", "off", ""}
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}


@dataclass(frozen=True)
class SingleSignOn:
    """How Chowda signs people in with the archive's OpenID Connect provider."""

    issuer: str
    client_id: str
    client_secret: str
    name: str
    roles_claim: str
    scopes: tuple[str, ...]
    # The identity provider's group -> Chowda's role; EVERYBODY as a group gives that role to all.
    role_map: dict[str, str]
    only: bool
    link_by_email: bool
    contact: str

    @property
    def discovery_url(self) -> str:
        return self.issuer.rstrip("/") + "/.well-known/openid-configuration"

    @property
    def mapped_roles(self) -> set[str]:
        return set(self.role_map.values())

    def roles_for(self, groups: set[str]) -> set[str]:
        """The Chowda roles that these identity-provider groups give."""
        return {role for group, role in self.role_map.items() if group == EVERYBODY or group in groups}

    def allauth_providers(self) -> dict:
        """SOCIALACCOUNT_PROVIDERS for django-allauth: one app, configured here, never in the database."""
        return {
            PROVIDER_ID: {
                "APPS": [
                    {
                        "provider_id": PROVIDER_ID,
                        "name": self.name,
                        "client_id": self.client_id,
                        "secret": self.client_secret,
                        "settings": {
                            "server_url": self.discovery_url,
                            "scope": list(self.scopes),
                            "oauth_pkce_enabled": True,
                        },
                    }
                ]
            }
        }


def parse_role_map(text: str) -> dict[str, str]:
    """``group=Role,group=Role`` as a dict; raises ImproperlyConfigured on a malformed entry or an unknown role."""
    role_map: dict[str, str] = {}
    for entry in (part.strip() for part in text.split(",")):
        if not entry:
            continue
        group, equals, role = (part.strip() for part in entry.partition("="))
        if not equals or not group or not role:
            raise ImproperlyConfigured(
                f"CHOWDA_OIDC_ROLE_MAP has the entry {entry!r}, which is not GROUP=ROLE: write each entry as the "
                "identity provider's group, '=', and a Chowda role, separated by commas, such as "
                "'chowda-admins=Admins,chowda-curators=Curators,staff=Viewers'."
            )
        if role not in ROLES:
            raise ImproperlyConfigured(
                f"CHOWDA_OIDC_ROLE_MAP maps {group!r} to {role!r}, which is not one of Chowda's roles: "
                f"use {', '.join(ROLES[:-1])} or {ROLES[-1]} (spelled so, with a capital letter)."
            )
        if group in role_map and role_map[group] != role:
            raise ImproperlyConfigured(
                f"CHOWDA_OIDC_ROLE_MAP maps {group!r} twice, to {role_map[group]!r} and to {role!r}: keep one. "
                "A person in several mapped groups gets every role they map to."
            )
        role_map[group] = role
    return role_map


def parse_switch(name: str, text: str) -> bool:
    value = text.strip().lower()
    if value in TRUE:
        return True
    if value in FALSE:
        return False
    raise ImproperlyConfigured(f"{name} is {text!r}: set it to true or false.")


def single_sign_on_from(environ: dict[str, str]) -> SingleSignOn | None:
    """The configuration in these CHOWDA_OIDC_* variables, or None when single sign-on is not set up.

    Raises ImproperlyConfigured with the variable to fix when a value is missing or wrong.
    """
    issuer = environ.get("CHOWDA_OIDC_ISSUER", "").strip()
    if not issuer:
        stray = sorted(name for name, value in environ.items() if name.startswith("CHOWDA_OIDC_") and value.strip())
        if stray:
            raise ImproperlyConfigured(
                f"{', '.join(stray)} {'is' if len(stray) == 1 else 'are'} set but CHOWDA_OIDC_ISSUER is not: set "
                "CHOWDA_OIDC_ISSUER to your identity provider's issuer URL to turn single sign-on on, or unset "
                "the other CHOWDA_OIDC_* variables to keep it off."
            )
        return None
    check_issuer(issuer)
    client_id = environ.get("CHOWDA_OIDC_CLIENT_ID", "").strip()
    client_secret = environ.get("CHOWDA_OIDC_CLIENT_SECRET", "")
    for name, value in (("CHOWDA_OIDC_CLIENT_ID", client_id), ("CHOWDA_OIDC_CLIENT_SECRET", client_secret)):
        if not value:
            raise ImproperlyConfigured(
                f"CHOWDA_OIDC_ISSUER is set but {name} is not: register Chowda as a client (a web application) "
                f"with the identity provider and set {name} to what it gives."
            )
    # Empty is unset (Docker Compose passes every variable it names, empty when not given).
    scopes = tuple((environ.get("CHOWDA_OIDC_SCOPES", "").strip() or DEFAULT_SCOPES).replace(",", " ").split())
    if "openid" not in scopes:
        raise ImproperlyConfigured(
            f"CHOWDA_OIDC_SCOPES is {' '.join(scopes)!r}, without 'openid': OpenID Connect needs it, so add it, "
            "such as 'openid email profile groups'."
        )
    roles_claim = environ.get("CHOWDA_OIDC_ROLES_CLAIM", "").strip() or DEFAULT_ROLES_CLAIM
    role_map = parse_role_map(environ.get("CHOWDA_OIDC_ROLE_MAP", ""))
    if not role_map:
        raise ImproperlyConfigured(
            "CHOWDA_OIDC_ISSUER is set but CHOWDA_OIDC_ROLE_MAP is empty, so nobody who signs in would get a role: "
            "map the identity provider's groups to Chowda's roles, such as 'chowda-curators=Curators,staff=Viewers', "
            "or give everybody a role with '*=Viewers'."
        )
    return SingleSignOn(
        issuer=issuer,
        client_id=client_id,
        client_secret=client_secret,
        name=environ.get("CHOWDA_OIDC_NAME", "").strip() or "single sign-on",
        roles_claim=roles_claim,
        scopes=scopes,
        role_map=role_map,
        only=parse_switch("CHOWDA_OIDC_ONLY", environ.get("CHOWDA_OIDC_ONLY", "")),
        link_by_email=parse_switch("CHOWDA_OIDC_LINK_BY_EMAIL", environ.get("CHOWDA_OIDC_LINK_BY_EMAIL", "")),
        contact=environ.get("CHOWDA_OIDC_CONTACT", "").strip(),
    )


def check_issuer(issuer: str) -> None:
    parts = urlsplit(issuer)
    if parts.scheme == "https" and parts.hostname:
        return
    if parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS:
        return
    raise ImproperlyConfigured(
        f"CHOWDA_OIDC_ISSUER is {issuer!r}, which is not an https:// URL: give the identity provider's issuer, "
        "such as 'https://login.example.org/realms/archive' (the address before /.well-known/openid-configuration). "
        "Plain http:// is accepted only for a provider on this machine's loopback."
    )
