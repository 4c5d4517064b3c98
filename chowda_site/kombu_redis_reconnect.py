"""Keep a Celery worker alive when Redis restarts while it holds unacknowledged tasks.

kombu 5.7.0's Redis transport with Celery 5.7.0 (the newest releases; no release fixes it): on a
lost connection, ``Connection.collect()`` releases the transport (``transport.client = None``)
while the task channel is still open, because its pending BRPOP read raised during close. Later
the channel builds a new Redis pool, to restore its unacknowledged messages when the connection
is closed (kombu/transport/redis.py, ``Channel._connparams`` reads ``transport.client.hostname``)
or to acknowledge a task that ran through the outage, and fails with ``AttributeError: 'NoneType'
object has no attribute 'hostname'`` (or ``'client'``). That is not a connection error, so Celery
stops the worker: "CRITICAL Unrecoverable error".

The fix: a channel remembers the connection parameters it was made with and uses them once its
transport has been released. The restore then fails with a connection error Celery already
ignores (Redis is down), and late acknowledgements reach Redis once it is back.
Related: kombu issues 582 and 970, celery issue 10205. Remove once a kombu release fixes it
(tests/test_redis_outage.py restarts Redis under a worker and fails without this).
"""

from kombu.transport import redis as kombu_redis

_original_connparams = kombu_redis.Channel._connparams


def _connparams(self, asynchronous=False):
    saved = self.__dict__.setdefault("_chowda_saved_connparams", {})
    transport = self.connection
    if transport is not None and transport.client is not None:
        params = _original_connparams(self, asynchronous=asynchronous)
        saved[asynchronous] = dict(params)
        return params
    if saved:
        return dict(saved.get(asynchronous) or next(iter(saved.values())))
    return _original_connparams(self, asynchronous=asynchronous)


kombu_redis.Channel._connparams = _connparams
