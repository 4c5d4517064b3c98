"""The kinds of background work, registered by the apps that do them (in their ``AppConfig.ready``).

The background app sits low in the layer stack: it knows only that a kind has a handler, never what a
thumbnail or a sync is, so every app above it can hand it work.
"""

from collections.abc import Callable
from dataclasses import dataclass


class JobFailed(Exception):
    """The job cannot succeed as things are (an unreadable file, a refused location): recorded, not tried again.

    The message is the sentence a curator reads: what went wrong and what to do.
    """


@dataclass(frozen=True)
class Kind:
    name: str
    # Does the work of one job (its ``target`` and ``arguments``); raises JobFailed with a sentence.
    handler: Callable
    # What the work is, in a curator's words, for messages: "make the thumbnail of media file 12".
    describe: Callable[[int], str]
    # Seconds a job may run before it counts as lost (its worker died) and is sent again.
    timeout: float = 600.0
    # How often a lost job is sent again before it fails.
    attempts: int = 3


_kinds: dict[str, Kind] = {}


def register(kind: Kind) -> None:
    _kinds[kind.name] = kind


def get(name: str) -> Kind | None:
    return _kinds.get(name)
