"""How many requests each app is handling, across every worker on every machine.

Each app has a Redis sorted set of slot holders scored by when their lease expires. A worker
renews the leases of the calls it has in flight with every heartbeat (``renew_held``), so a
worker that dies frees its slots within ``SLOT_LEASE`` seconds. A call Chowda gave up on keeps
its slot for the app's ``timeout_grace``: the app cannot be told to stop and goes on working.
"""

import threading

from django.conf import settings

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

# Extends the leases of holders still in the set (a lease that already ran out is not revived).
RENEW = """
local now = redis.call('TIME')
local seconds = tonumber(now[1]) + tonumber(now[2]) / 1000000
for i = 1, #ARGV - 1 do
    redis.call('ZADD', KEYS[1], 'XX', seconds + tonumber(ARGV[#ARGV]), ARGV[i])
end
redis.call('EXPIRE', KEYS[1], math.ceil(tonumber(ARGV[#ARGV])) + 60)
return 1
"""

_held: dict[str, int] = {}  # holder -> app id, for the calls this process has in flight
_held_lock = threading.Lock()


def acquire(app_id: int, holder: str, *, limit: int) -> bool:
    """Take one of the app's ``limit`` slots for ``holder``; False if all are taken.

    Taking a slot one already holds succeeds (and renews the lease). Raises redis.RedisError
    when Redis cannot be reached.
    """
    client = redis_client()
    script = client.register_script(ACQUIRE)  # EVALSHA, loading the script once per server
    taken = bool(script(keys=[key("app-slots", app_id)], args=[holder, limit, settings.SLOT_LEASE]))
    if taken:
        with _held_lock:
            _held[holder] = app_id
    return taken


def release(app_id: int, holder: str, *, keep_for: float = 0) -> None:
    """Give the slot back, or, with ``keep_for``, let it run out that many seconds from now.

    Raises redis.RedisError when Redis cannot be reached; the lease then runs out by itself.
    """
    with _held_lock:
        _held.pop(holder, None)
    client = redis_client()
    if keep_for > 0:
        client.register_script(RENEW)(keys=[key("app-slots", app_id)], args=[holder, keep_for])
    else:
        client.zrem(key("app-slots", app_id), holder)


def renew_held() -> int:
    """Renew the lease of every slot this process holds; returns how many. Raises redis.RedisError."""
    with _held_lock:
        by_app: dict[int, list[str]] = {}
        for holder, app_id in _held.items():
            by_app.setdefault(app_id, []).append(holder)
    if not by_app:
        return 0
    script = redis_client().register_script(RENEW)
    for app_id, holders in by_app.items():
        script(keys=[key("app-slots", app_id)], args=[*holders, settings.SLOT_LEASE])
    return sum(map(len, by_app.values()))
