"""Which URLs Chowda may call as a CLAMS app, or fetch media from, checked before any request is sent.

Registering an app makes Chowda's server send a request wherever a curator points it. CLAMS apps
live on private networks and on loopback, so those stay allowed; addresses that are never an app
are refused, above all link-local ones, where cloud metadata services (169.254.169.254) hand out
credentials. Every address the host name resolves to is checked, so a name cannot hide one.
An operator can instead list what is allowed in ``CHOWDA_APP_URL_ALLOW`` (``settings.APP_URL_ALLOW``).

A media file's http(s) location is fetched by a worker too (staging, thumbnails): it gets the same
refusals (``check_media_url``), at every redirect (``media_request``); archives' media servers sit on
the same networks as their apps, so no allow list applies to them. A file:// location is read only
under the folders ``CHOWDA_MEDIA_FILE_ROOTS`` lists (``check_media_path``): a staged copy goes where apps
read it, so a location such as file:///proc/self/environ must not be copied there.
"""

import ipaddress
import os
import socket
from urllib.parse import SplitResult, unquote, urljoin, urlsplit

import requests
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class UrlRefused(Exception):
    """Chowda must not call this URL; the message says why and what to do."""


THIS_NETWORK = ipaddress.ip_network("0.0.0.0/8")
ASK_AN_OPERATOR = (
    "register the app by an address on your network, or ask an operator to allow it in CHOWDA_APP_URL_ALLOW."
)


def check_app_url(url: str) -> None:
    """Raise UrlRefused, with a sentence saying what is wrong and what to do, if Chowda must not call ``url``.

    Resolves the host name (the one network call made here); a name that does not resolve is refused too.
    """
    parts = _parts(url)
    host = parts.hostname or ""
    addresses = _resolve(url, host, parts.port)
    allowed = settings.APP_URL_ALLOW
    if allowed:
        _check_allow_list(url, host, addresses, allowed)
        return
    for address in addresses:
        kind = _never_an_app(address)
        if kind:
            via = "" if host == str(address) else f" (the address of {host})"
            raise UrlRefused(f"Chowda does not call {kind} such as {address}{via}: {ASK_AN_OPERATOR}")


MAX_MEDIA_REDIRECTS = 5


def check_media_url(url: str) -> None:
    """Raise UrlRefused, with a sentence, if a worker must not fetch a media file from this http(s) ``url``."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UrlRefused(f"Chowda fetches media over http or https from a named host only, not from {url}")
    host = parts.hostname
    for address in _resolve(url, host, parts.port):
        kind = _never_an_app(address)
        if kind:
            via = "" if host == str(address) else f" (the address of {host})"
            raise UrlRefused(f"Chowda does not fetch media from {kind} such as {address}{via}")


def check_media_path(location: str) -> str:
    """The real path of a file:// ``location`` a worker may read; raises UrlRefused, with a sentence, if it is
    not under one of ``CHOWDA_MEDIA_FILE_ROOTS`` (symlinks followed, so a link cannot lead out)."""
    path = unquote(urlsplit(location).path)
    if "\x00" in path:
        raise UrlRefused("the location contains a NUL character, which no file has: correct the location")
    path = os.path.realpath(path)
    for root in settings.MEDIA_FILE_ROOTS:
        real_root = os.path.realpath(root)
        if os.path.commonpath([path, real_root]) == real_root:
            return path
    roots = ", ".join(settings.MEDIA_FILE_ROOTS) or "none is set"
    raise UrlRefused(
        f"Chowda reads local media files only under CHOWDA_MEDIA_FILE_ROOTS ({roots}): move the file there, "
        "or ask an operator to add its folder"
    )


def media_request(method: str, url: str, **kwargs) -> requests.Response:
    """``requests.request`` for a media file, following redirects itself so that each URL is checked
    (``check_media_url``) before it is sent. Raises UrlRefused, or requests' own errors."""
    for _ in range(MAX_MEDIA_REDIRECTS + 1):
        check_media_url(url)
        response = requests.request(method, url, allow_redirects=False, **kwargs)
        if not response.is_redirect:
            return response
        response.close()
        url = urljoin(url, response.headers["Location"])
    raise requests.TooManyRedirects(f"more than {MAX_MEDIA_REDIRECTS} redirects")


def _parts(url: str) -> SplitResult:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (reading it validates it)
    except ValueError:
        raise UrlRefused(f"{url} is not a URL Chowda can call: check how it is written.") from None
    if parts.scheme not in ("http", "https"):
        raise UrlRefused(f"Chowda calls CLAMS apps over http or https only, not {parts.scheme or 'no scheme'}: {url}.")
    if parts.username is not None or parts.password is not None:
        raise UrlRefused(
            f"The app's URL must not carry a user name or password ({parts.hostname}): give its plain http(s) URL."
        )
    if not parts.hostname:
        raise UrlRefused(f"{url} names no host: give the app's URL, such as http://apps.example.org:5000/.")
    return parts


def _resolve(url: str, host: str, port: int | None) -> list[Address]:
    try:
        infos = socket.getaddrinfo(host, port or 80, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError):
        raise UrlRefused(f"The host name {host} in {url} does not resolve: check its spelling.") from None
    return [_unmapped(ipaddress.ip_address(info[4][0].split("%")[0])) for info in infos]


def _unmapped(address: Address) -> Address:
    """An IPv4 address written as IPv6 (::ffff:169.254.169.254) is judged as the IPv4 address it is."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


def _never_an_app(address: Address) -> str:
    """What kind of address this is, if no CLAMS app can be there; empty if it may be."""
    if address.is_link_local:
        return "link-local addresses"
    if address.is_unspecified or address in THIS_NETWORK:
        return "unspecified addresses"
    if address.is_multicast:
        return "multicast addresses"
    if address.is_reserved or address == ipaddress.IPv4Address("255.255.255.255"):
        return "reserved or broadcast addresses"
    return ""


def _check_allow_list(url: str, host: str, addresses: list[Address], allowed: list[str]) -> None:
    names = {entry.lower().rstrip(".") for entry in allowed if "/" not in entry}
    if host.lower().rstrip(".") in names:
        return
    networks = [_network(entry) for entry in allowed if "/" in entry]
    outside = [a for a in addresses if not any(a.version == n.version and a in n for n in networks)]
    if outside:
        raise UrlRefused(
            f"{url} is not among the app addresses this Chowda allows ({', '.join(allowed)}): "
            "register the app by one of those, or ask an operator to add it to CHOWDA_APP_URL_ALLOW."
        )


def _network(entry: str) -> Network:
    try:
        return ipaddress.ip_network(entry, strict=False)
    except ValueError:
        raise ImproperlyConfigured(
            f"CHOWDA_APP_URL_ALLOW: {entry!r} is not a CIDR network such as 10.0.0.0/8."
        ) from None
