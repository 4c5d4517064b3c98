"""GET /healthz: is the database up, is Redis up, is at least one worker listening."""

import redis
from django.conf import settings
from django.db import DatabaseError, connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from chowda_site.celery import app as celery_app

WORKER_PING_TIMEOUT = 1.0


def _database() -> dict:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return {"ok": True, "vendor": connection.vendor}
    except Exception as exc:
        return {"ok": False, "error": f"The database cannot be reached: {exc}"}


def _redis() -> dict:
    try:
        redis.Redis.from_url(settings.REDIS_URL, socket_timeout=1, socket_connect_timeout=1).ping()
        return {"ok": True}
    except redis.RedisError as exc:
        return {"ok": False, "error": f"Redis cannot be reached: {exc}"}


def _workers() -> dict:
    try:
        replies = celery_app.control.ping(timeout=WORKER_PING_TIMEOUT) or []
    except Exception as exc:
        return {"ok": False, "count": 0, "error": f"Workers cannot be asked: {exc}"}
    # Only how many: the endpoint is public, and worker names carry host names.
    count = sum(len(reply) for reply in replies)
    if not count:
        return {"ok": False, "count": 0, "error": "No Celery worker answered: start one (see the README)."}
    return {"ok": True, "count": count}


@never_cache
@require_GET
def healthz(request):
    """200 with the state of each part, or 503 naming what is down.

    Anyone (a load balancer, a monitor) gets whether each part is up; why one is down (its error, which may
    name the database's host or Redis's address) and how many workers answered are for signed-in staff only.
    """
    checks = {"database": _database(), "redis": _redis()}
    checks["workers"] = _workers() if checks["redis"]["ok"] else {"ok": False, "count": 0, "error": "Redis is down."}
    down = [name for name, check in checks.items() if not check["ok"]]
    if not _staff(request):
        checks = {name: {"ok": check["ok"]} for name, check in checks.items()}
    return JsonResponse({"status": "down" if down else "ok", "down": down, **checks}, status=503 if down else 200)


def _staff(request) -> bool:
    try:
        return bool(request.user.is_authenticated and request.user.is_staff)
    except DatabaseError:  # the session cannot be read while the database is down: anyone, then
        return False
