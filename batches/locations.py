"""Media locations of kinds that an app above this one knows how to read (a Sony Ci asset, sonyci://…).

Such a location is never a URL an app or ffmpeg could open: when the media is needed (staging, a thumbnail),
its scheme's ``resolve`` makes a fresh URL of it (a signed one that expires, so it is never stored). The app
that knows the scheme registers it in its ``AppConfig.ready``, so this layer never imports it.
"""

from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit


class Unresolved(Exception):
    """The location cannot be made a URL now; the message is a sentence that names it and says what to do."""


@dataclass(frozen=True)
class Scheme:
    # The URL to read the media at now; raises Unresolved.
    resolve: Callable[[str], str]
    # Why the location is not valid for its scheme, as a sentence; "" when it is.
    check: Callable[[str], str]


_schemes: dict[str, Scheme] = {}


def register_scheme(name: str, *, resolve: Callable[[str], str], check: Callable[[str], str]) -> None:
    _schemes[name] = Scheme(resolve, check)


def scheme_of(location: str) -> Scheme | None:
    """The registered scheme of the location, or None for file://, http(s)://, s3:// and anything unknown."""
    return _schemes.get(urlsplit(location or "").scheme)


def registered() -> list[str]:
    return sorted(_schemes)


def readable(location: str) -> str:
    """A URL the media can be read at now: the location itself, or its registered scheme's fresh URL.
    Raises Unresolved."""
    scheme = scheme_of(location)
    return scheme.resolve(location) if scheme else location
