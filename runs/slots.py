"""How many requests each app is handling, across every worker on every machine.

Each app has a Redis sorted set of slot holders scored by when their hold expires, so
a worker that dies mid-request frees its slot once the app's timeout has passed.
"""

from chowda_site.redis_client import key, redis_client

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


def acquire(app_id: int, holder: str, *, limit: int, hold_seconds: float) -> bool:
    """Take one of the app's ``limit`` slots for ``holder``; False if all are taken.

    Taking a slot one already holds succeeds (and extends the hold).
    """
    client = redis_client()
    script = client.register_script(ACQUIRE)  # EVALSHA, loading the script once per server
    return bool(script(keys=[key("app-slots", app_id)], args=[holder, limit, hold_seconds]))


def release(app_id: int, holder: str) -> None:
    redis_client().zrem(key("app-slots", app_id), holder)
