"""How many requests each app is handling, across every worker on every machine.

Each app has a Redis sorted set of slot holders scored by when their lease expires. A worker
renews the leases of the calls it has in flight with every heartbeat (``renew_held``), so a
worker that dies frees its slots within ``SLOT_LEASE`` seconds. A call Chowda gave up on keeps
its slot for the app's ``timeout_grace``: the app cannot be told to stop and goes on working.
"""

import threading
from dataclasses import dataclass

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

# The dispatcher claims a slot for each run it sends (``reserve``: holder ``reserved-<run id>``), so that no
# other run takes the room meanwhile; the run's task turns the claim into its own (``take``). A claim whose
# task never comes runs out after SLOT_LEASE seconds, like any lease.
RESERVE = """
local now = redis.call('TIME')
local seconds = tonumber(now[1]) + tonumber(now[2]) / 1000000
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', seconds)
local granted = {}
for i = 3, #ARGV do
    if redis.call('ZSCORE', KEYS[1], ARGV[i]) or redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[1]) then
        redis.call('ZADD', KEYS[1], seconds + tonumber(ARGV[2]), ARGV[i])
        granted[#granted + 1] = ARGV[i]
    end
end
redis.call('EXPIRE', KEYS[1], math.ceil(tonumber(ARGV[2])) + 60)
return granted
"""

# KEYS: the app's slots, its standby key. ARGV: the task's holder, the run's claim, the limit, the lease, the run.
TAKE = """
local now = redis.call('TIME')
local seconds = tonumber(now[1]) + tonumber(now[2]) / 1000000
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', seconds)
if redis.call('ZREM', KEYS[1], ARGV[2]) == 1 or redis.call('ZSCORE', KEYS[1], ARGV[1])
        or redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[3]) then
    redis.call('ZADD', KEYS[1], seconds + tonumber(ARGV[4]), ARGV[1])
    redis.call('EXPIRE', KEYS[1], math.ceil(tonumber(ARGV[4])) + 60)
    if redis.call('GET', KEYS[2]) == ARGV[5] then
        redis.call('DEL', KEYS[2])
        return 2
    end
    return 1
end
return 0
"""

_held: dict[str, int] = {}  # holder -> app id, for the calls this process has in flight
_held_lock = threading.Lock()


def reservation(run_id: int) -> str:
    return f"reserved-{run_id}"


def reserve(app_id: int, run_ids: list[int], *, limit: int) -> list[int]:
    """Claim one of the app's ``limit`` slots for each of these runs while there is room; returns the runs
    that got one (a run that has a claim already keeps it). Raises redis.RedisError."""
    if not run_ids:
        return []
    granted = _script(RESERVE)(
        keys=[key("app-slots", app_id)], args=[limit, settings.SLOT_LEASE, *map(reservation, run_ids)]
    )
    return [int(holder.decode().rsplit("-", 1)[1]) for holder in granted]


def unreserve(app_id: int, run_ids: list[int]) -> None:
    """Give back the claims of runs that will not be sent after all. Raises redis.RedisError."""
    if run_ids:
        redis_client().zrem(key("app-slots", app_id), *map(reservation, run_ids))


TAKEN, TAKEN_FROM_STANDBY = 1, 2


def take(app_id: int, holder: str, *, run_id: int, limit: int) -> int:
    """Take a slot of the app for ``holder`` (a task): the run's claim if the dispatcher made one, else one of the
    ``limit`` if there is room. 0 if there is none, TAKEN, or TAKEN_FROM_STANDBY when the run was the app's run
    on standby (it is no longer: its task may have read the app long before). Raises redis.RedisError."""
    taken = int(
        _script(TAKE)(
            keys=[key("app-slots", app_id), _standby_key(app_id)],
            args=[holder, reservation(run_id), limit, settings.SLOT_LEASE, run_id],
        )
    )
    if taken:
        with _held_lock:
            _held[holder] = app_id
    return taken


# Everything a sender needs to know before it reads the database, in one round trip: Redis's epoch (made if it is
# missing: runs/dispatcher.py), how many runs have become pending (runs/events.py), and each app's free room.
ROOM = """
local now = redis.call('TIME')
local seconds = tonumber(now[1]) + tonumber(now[2]) / 1000000
local epoch = redis.call('GET', KEYS[1])
if not epoch then
    redis.call('SET', KEYS[1], ARGV[1])
    epoch = ARGV[1]
end
local answer = {epoch, redis.call('GET', KEYS[2]) or '0'}
for i = 3, #KEYS, 2 do
    answer[#answer + 1] = tonumber(ARGV[(i - 1) / 2 + 1]) - redis.call('ZCOUNT', KEYS[i], seconds, '+inf')
    answer[#answer + 1] = redis.call('EXISTS', KEYS[i + 1])
end
return answer
"""


@dataclass(frozen=True)
class Room:
    epoch: str
    pending_version: int
    free: dict[int, int]
    # The apps that have a run on standby (``standby``): the next slot each frees is that run's.
    standing_by: set[int]


def free_room(limits: dict[int, int], *, epoch_key: str, new_epoch: str, pending_key: str) -> Room:
    """How many more calls each app can take now (its limit less its live slots and claims), which apps have a
    run on standby, Redis's epoch and the pending runs' version. Raises redis.RedisError."""
    keys = [epoch_key, pending_key]
    for app_id in limits:
        keys += [key("app-slots", app_id), _standby_key(app_id)]
    epoch, version, *answers = _script(ROOM)(keys=keys, args=[new_epoch, *limits.values()])
    free = dict(zip(limits, map(int, answers[0::2]), strict=True))
    standing_by = {app_id for app_id, present in zip(limits, answers[1::2], strict=True) if present}
    return Room(epoch.decode(), int(version), free, standing_by)


# A run on standby for an app: sent to a worker while the app is full, its task waits there for the app's
# next free slot (``wait_for_room``) and takes it the moment a step releases it, instead of the run being sent
# only then. One per app; the key names the run and lasts while its task renews it.
STANDBY_LEASE = 10.0
CLEAR_STANDBY = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
    return redis.call('DEL', KEYS[1])
end
return 0
"""


def _standby_key(app_id: int) -> str:
    return key("app-standby", app_id)


def _freed_key(app_id: int) -> str:
    return key("app-freed", app_id)


def stand_by(app_id: int, run_id: int) -> bool:
    """Make ``run_id`` the app's run on standby, unless it has one; True if it is now. Raises RedisError."""
    return bool(redis_client().set(_standby_key(app_id), run_id, nx=True, px=int(STANDBY_LEASE * 1000)))


def standing_by(app_id: int, run_id: int) -> bool:
    """Whether ``run_id`` is the app's run on standby; renews its lease if it is. Raises RedisError."""
    client = redis_client()
    if client.get(_standby_key(app_id)) != str(run_id).encode():
        return False
    client.pexpire(_standby_key(app_id), int(STANDBY_LEASE * 1000))
    return True


def stand_down(app_id: int, run_id: int) -> None:
    """``run_id`` is no longer on standby for the app (it took a slot, or gave up). Raises RedisError."""
    _script(CLEAR_STANDBY)(keys=[_standby_key(app_id)], args=[run_id])


def wait_for_room(app_id: int, seconds: float) -> None:
    """Wait up to ``seconds`` (less than the client's read timeout) for a step to free one of the app's slots.
    Raises RedisError."""
    redis_client().blpop([_freed_key(app_id)], timeout=seconds)


_scripts: dict[tuple[str, str], object] = {}


def _script(text: str):
    """The registered script for the current Redis (EVALSHA, loading it once per server)."""
    client = redis_client()
    cached = _scripts.get((settings.REDIS_URL, text))
    if cached is None:
        cached = _scripts[(settings.REDIS_URL, text)] = client.register_script(text)
    return cached


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
        return
    pipe = client.pipeline(transaction=False)
    pipe.zrem(key("app-slots", app_id), holder)
    # Wake the app's run on standby, if it has one; the list holds one wake-up at most, for a few seconds.
    pipe.lpush(_freed_key(app_id), 1)
    pipe.ltrim(_freed_key(app_id), 0, 0)
    pipe.expire(_freed_key(app_id), 5)
    pipe.execute()


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
