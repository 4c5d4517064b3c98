"""How many requests each app is handling, across every worker on every machine.

Each app has a Redis sorted set of slot holders scored by when their hold expires, so
a worker that dies mid-request frees its slot once the app's timeout has passed.
"""

import functools

import redis
from django.conf import settings

ACQUIRE = """
local now = redis.call('TIME')
local seconds = tonumber(now[1]) + tonumber(now[2]) / 1000000
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', seconds)
local held = redis.call('ZSCORE', KEYS[1], ARGV[1])
if held or redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[2]) then
    redis.call('ZADD', KEYS[1], seconds + tonumber(ARGV[3]), ARGV[1])
    redis.call('EXPIRE', KEYS[1], math.ceil(tonumber(ARGV[3])) + 60)
    return 1
end
return 0
"""


@functools.cache
def _client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url)


@functools.cache
def _acquire_script(url: str):
    return _client(url).register_script(ACQUIRE)


def _key(app_id: int) -> str:
    return f"{settings.REDIS_KEY_PREFIX}:app-slots:{app_id}"


def acquire(app_id: int, holder: str, *, limit: int, hold_seconds: float) -> bool:
    """Take one of the app's ``limit`` slots for ``holder``; False if all are taken.

    Taking a slot one already holds succeeds (and extends the hold).
    """
    return bool(_acquire_script(settings.REDIS_URL)(keys=[_key(app_id)], args=[holder, limit, hold_seconds]))


def release(app_id: int, holder: str) -> None:
    _client(settings.REDIS_URL).zrem(_key(app_id), holder)


def in_use(app_id: int) -> int:
    return _client(settings.REDIS_URL).zcard(_key(app_id))
