"""A real OpenID Provider on loopback for the single sign-on tests: panva's oidc-provider (tests/oidc/).

Each test registers its own client (dynamic client registration) with its Chowda's redirect URI, and says
who exists and in which groups by rewriting the accounts file, which the provider reads at every token.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from html import unescape
from pathlib import Path
from urllib.parse import parse_qs, urljoin, urlsplit

import requests

from chowda_site.redis_server import free_port
from tests.runner_helpers import wait_for

HERE = Path(__file__).resolve().parent / "oidc"
NOT_INSTALLED = (
    "The test identity provider is not installed: run `make test`, or `cd tests/oidc && npm ci`, which installs "
    "oidc-provider from tests/oidc/package-lock.json."
)


class IdentityProvider:
    """oidc-provider in a Node process of its own; ``issuer`` is its URL; its output goes to ``log``."""

    def __init__(self, folder: Path):
        if not (HERE / "node_modules" / "oidc-provider").is_dir():
            raise RuntimeError(NOT_INSTALLED)
        self.port = free_port()
        self.issuer = f"http://127.0.0.1:{self.port}"
        self.accounts = folder / "accounts.json"
        self.log = folder / "identity-provider.log"
        self.people({})
        node = shutil.which("node") or "/usr/bin/node"
        with self.log.open("a") as log:
            self.process = subprocess.Popen(
                [node, str(HERE / "provider.mjs"), str(self.port), str(self.accounts)],
                cwd=HERE,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        wait_for(self._answers, timeout=30, message="the identity provider to answer")

    def _answers(self) -> bool:
        if self.process.poll() is not None:
            raise RuntimeError(f"The identity provider stopped: {self.log.read_text()}")
        try:
            return requests.get(f"{self.issuer}/.well-known/openid-configuration", timeout=5).ok
        except requests.ConnectionError:
            return False

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)

    def people(self, accounts: dict) -> None:
        """Who may sign in: ``{login: {"claims": {...}, "id_token": {...}, "userinfo": {...}}}``."""
        self.accounts.write_text(json.dumps(accounts))

    def person(self, login: str, groups: list[str], **claims) -> None:
        """Add or change one person, keeping the others: their groups and other claims in both tokens."""
        accounts = json.loads(self.accounts.read_text())
        accounts[login] = {
            "claims": {"email": f"{login}@archive.test", "email_verified": True, "name": login.title(), **claims}
            | {"groups": groups}
        }
        self.people(accounts)

    def register_client(self, chowda_url: str) -> tuple[str, str]:
        """A new client for the Chowda at ``chowda_url``: its (client ID, client secret)."""
        answer = requests.post(
            f"{self.issuer}/reg",
            json={
                "redirect_uris": [f"{chowda_url}/sso/callback/"],
                "post_logout_redirect_uris": [f"{chowda_url}/sso/signed-out/"],
                "token_endpoint_auth_method": "client_secret_post",
                "client_name": "Chowda",
            },
            timeout=10,
        )
        answer.raise_for_status()
        return answer.json()["client_id"], answer.json()["client_secret"]

    def chowda_env(self, chowda_url: str, **variables: str) -> dict[str, str]:
        """The CHOWDA_OIDC_* variables of a Chowda that signs in here (a client registered for it)."""
        client_id, client_secret = self.register_client(chowda_url)
        return {
            "CHOWDA_OIDC_ISSUER": self.issuer,
            "CHOWDA_OIDC_CLIENT_ID": client_id,
            "CHOWDA_OIDC_CLIENT_SECRET": client_secret,
            "CHOWDA_OIDC_NAME": "the Archive's SSO",
            "CHOWDA_OIDC_ROLE_MAP": "chowda-admins=Admins,chowda-curators=Curators,staff=Viewers",
            "CHOWDA_SITE_URL": chowda_url,
            **variables,
        }


def sign_in(client, provider: IdentityProvider, login: str, next_url: str = "/admin/", meanwhile=None):
    """Sign in through the real provider: Chowda (Django's test client) ↔ the provider (plain HTTP, as a browser
    would, through its login form). Returns Chowda's answer to the provider's redirect back, which
    ``meanwhile()``, if given, is called just before."""
    start = client.post("/sso/login/", {"next": next_url})
    assert start.status_code == 302, start.content.decode()
    browser = requests.Session()
    page = browser.get(start["Location"], timeout=10)
    action = unescape(re.search(r'<form[^>]*action="([^"]+)"', page.text).group(1))
    answer = browser.post(
        urljoin(page.url, action),
        data={"prompt": "login", "login": login, "password": "any"},  # pragma: allowlist secret
        allow_redirects=False,
        timeout=10,
    )
    while answer.is_redirect and not answer.headers["Location"].startswith("http://testserver/"):
        answer = browser.get(urljoin(answer.url, answer.headers["Location"]), allow_redirects=False, timeout=10)
    back = urlsplit(answer.headers["Location"])
    if meanwhile:
        meanwhile()
    return client.get(back.path, {key: values[0] for key, values in parse_qs(back.query).items()})
