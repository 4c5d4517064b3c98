"""What Chowda's servers check before they serve: never the development secret key in production.

Tooling (migrate, makemigrations, check, shell) runs with the development key; the web
server (ASGI and WSGI), every Celery worker and the launcher refuse it unless CHOWDA_DEBUG
is on, and `manage.py check --deploy` reports it (registered by the ops app).
"""

from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured

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
