"""The websocket origin check: the same rule Django's CSRF check applies to form posts.

Channels' ``AllowedHostsOriginValidator`` accepts an Origin whose host is allowed, on any port, so a page
served by anything else on the same machine (``http://127.0.0.1:1``) could open a live socket with the
curator's session cookie. Here an Origin is accepted only when it names the host and port the request
itself was sent to (its Host header; the scheme is not compared, so a TLS proxy in front does not matter),
or when it is one of ``CSRF_TRUSTED_ORIGINS``; and that Host must be one of ``ALLOWED_HOSTS``.

A handshake without an Origin header is let through, as Channels does: browsers always send one, so
cross-site attacks carry it, while scripts and other non-browser clients send none (they still need a
session to be let in by the consumers).
"""

from urllib.parse import urlsplit

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.http.request import split_domain_port, validate_host
from django.utils.http import is_same_domain


def allowed_hosts() -> list[str]:
    """``ALLOWED_HOSTS``, or in debug with none set the loopback names Django itself then allows."""
    if settings.DEBUG and not settings.ALLOWED_HOSTS:
        return [".localhost", "127.0.0.1", "[::1]"]
    return settings.ALLOWED_HOSTS


def request_host(headers: dict[bytes, bytes]) -> str:
    """The host and port the handshake was sent to, as Django's ``request.get_host()`` reads them."""
    if settings.USE_X_FORWARDED_HOST and b"x-forwarded-host" in headers:
        return headers[b"x-forwarded-host"].decode("latin-1").split(",")[0].strip().lower()
    return headers.get(b"host", b"").decode("latin-1").strip().lower()


def is_trusted_origin(origin: str) -> bool:
    """Whether ``CSRF_TRUSTED_ORIGINS`` lists the origin, exactly or by a ``https://*.example.org`` pattern."""
    parsed = urlsplit(origin)
    for trusted in (entry.lower() for entry in settings.CSRF_TRUSTED_ORIGINS):
        pattern = urlsplit(trusted)
        if origin == trusted or (
            pattern.netloc.startswith("*")
            and pattern.scheme == parsed.scheme
            and is_same_domain(parsed.netloc, pattern.netloc[1:])
        ):
            return True
    return False


def origin_allowed(headers: dict[bytes, bytes]) -> bool:
    """Whether a websocket handshake with these headers comes from a page of this site (see the module)."""
    host = request_host(headers)
    domain, _port = split_domain_port(host)
    if not domain or not validate_host(domain, allowed_hosts()):
        return False
    if b"origin" not in headers:
        return True
    origin = headers[b"origin"].decode("latin-1").strip().lower()
    try:
        netloc = urlsplit(origin).netloc
    except ValueError:  # for example an unclosed IPv6 bracket
        return False
    return (bool(netloc) and netloc == host) or is_trusted_origin(origin)


class OriginValidator:
    """ASGI middleware: refuses (HTTP 403) a websocket handshake whose Origin is not this site."""

    def __init__(self, application):
        self.application = application

    async def __call__(self, scope, receive, send):
        if scope["type"] == "websocket" and not origin_allowed(dict(scope.get("headers", []))):
            return await WebsocketDenier()(scope, receive, send)
        return await self.application(scope, receive, send)
