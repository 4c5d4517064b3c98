"""The synchronous Redis client Chowda's own keys go through (slots, event sequence numbers)."""

import functools

import redis
from django.conf import settings

# Chowda's own commands (INCR, GET, EVALSHA, ZREM) never block on the server, so a short read
# timeout only cuts off a Redis that stopped answering; nothing here may use BLPOP-style reads.
SOCKET_TIMEOUT = 5.0


@functools.cache
def _client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_timeout=SOCKET_TIMEOUT, socket_connect_timeout=SOCKET_TIMEOUT)


def redis_client() -> redis.Redis:
    """A thread-safe client (it pools connections) for settings.REDIS_URL."""
    return _client(settings.REDIS_URL)


def key(*parts) -> str:
    """A Redis key under CHOWDA_REDIS_KEY_PREFIX."""
    return ":".join([settings.REDIS_KEY_PREFIX, *map(str, parts)])
