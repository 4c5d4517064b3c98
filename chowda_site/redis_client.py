"""The synchronous Redis client Chowda's own keys go through (slots, event sequence numbers)."""

import functools

import redis
from django.conf import settings


@functools.cache
def _client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url)


def redis_client() -> redis.Redis:
    """A thread-safe client (it pools connections) for settings.REDIS_URL."""
    return _client(settings.REDIS_URL)


def key(*parts) -> str:
    """A Redis key under CHOWDA_REDIS_KEY_PREFIX."""
    return ":".join([settings.REDIS_KEY_PREFIX, *map(str, parts)])
