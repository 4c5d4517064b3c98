"""What Chowda's servers check before they serve: never the development secret key in production, and a Redis.

Tooling (migrate, makemigrations, check, shell) runs with the development key; the web
server (ASGI and WSGI), every Celery worker and the launcher refuse it unless CHOWDA_DEBUG
is on, and `manage.py check --deploy` reports it (registered by the ops app).

Servers, workers and the commands that send work need the Redis of the running Chowda: CHOWDA_REDIS_URL, or
the one `make run` records while it runs (chowda_site/running.py). With neither they refuse, saying how to
give one, before they change anything.
"""

from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured

from chowda_site.running import RECORD

DEVELOPMENT_KEY_REFUSED = (
    "Chowda will not start with the development secret key while CHOWDA_DEBUG is off. "
    "Set CHOWDA_SECRET_KEY to a long random value (for example the output of "
    "`python -c 'import secrets; print(secrets.token_urlsafe(50))'`), "
    "or set CHOWDA_DEBUG=true on a development machine."
)


def using_development_key() -> bool:
    return not settings.DEBUG and settings.SECRET_KEY == settings.DEVELOPMENT_SECRET_KEY


def refuse_development_key() -> None:
    """Raise ImproperlyConfigured if a server is about to start with the development key outside debug."""
    if using_development_key():
        raise ImproperlyConfigured(DEVELOPMENT_KEY_REFUSED)


def check_secret_key(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    if using_development_key():
        return [checks.Error(DEVELOPMENT_KEY_REFUSED, id="chowda.E001")]
    return []


def refuse_unknown_redis(who: str, error: type[Exception] = ImproperlyConfigured) -> None:
    """Raise ``error`` saying what to do if no Redis is known (settings.REDIS_URL is empty); ``who`` needs one.

    Commands pass CommandError, so that they refuse before their service changes anything.
    """
    if settings.REDIS_URL:
        return
    raise error(
        f"{who} needs the Redis of a running Chowda, and none is known: CHOWDA_REDIS_URL is unset and no Chowda "
        f"started with `make run` is running here (it would be recorded in {settings.VAR_DIR / RECORD}). Start "
        "Chowda with `make run` and try again, or set CHOWDA_REDIS_URL to the Redis of the Chowda you mean "
        "(`make run` prints the line to export)."
    )
