"""API errors: always JSON, always a sentence a person can act on, never a 500 for a bad request.

Registered as ``REST_FRAMEWORK["EXCEPTION_HANDLER"] = "api.exceptions.handler"``.
"""

from collections import Counter

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import InterfaceError, OperationalError
from django.db.models import ProtectedError
from django.utils.text import get_text_list
from rest_framework import exceptions, status
from rest_framework.fields import get_error_detail
from rest_framework.views import exception_handler

from chowda_site.refusals import Refused


class Conflict(exceptions.APIException):
    """The request is understood but cannot be done in the current state; the detail says why."""

    status_code = status.HTTP_409_CONFLICT
    default_detail = "This cannot be done in the current state."
    default_code = "conflict"


class RequestTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "too_large"


class Unavailable(exceptions.APIException):
    """Chowda's own database cannot be reached: nothing the caller did is wrong, and nothing was changed."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = (
        "Chowda's database cannot be reached right now, so nothing was read or changed; try again in a minute, "
        "and tell your operator if it lasts."
    )
    default_code = "unavailable"


def too_large(limit: int) -> RequestTooLarge:
    return RequestTooLarge(
        f"The request body is larger than {limit:,} bytes, the most Chowda accepts; send less at a time "
        "(for example, import media in several parts)."
    )


def handler(exc, context):
    """DRF's handler, after turning Django's own request and database errors, and services' refusals
    (chowda_site/refusals.py), into API errors."""
    if isinstance(exc, RequestDataTooBig):
        exc = too_large(settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
    elif isinstance(exc, TooManyFieldsSent):
        exc = exceptions.ParseError(f"{exc} Send the data as JSON instead.")
    elif isinstance(exc, ProtectedError):
        view = context.get("view")
        exc = Conflict(protected_sentence(exc, getattr(view, "queryset", None)))
    elif isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(get_error_detail(exc))
    elif isinstance(exc, Refused):  # a service refused, changing nothing: its sentence says why
        exc = Conflict(str(exc))
    elif isinstance(exc, OperationalError | InterfaceError):
        exc = Unavailable()
    return exception_handler(exc, context)


def protected_sentence(exc: ProtectedError, queryset=None) -> str:
    """For example "This CLAMS app cannot be deleted: 1 pipeline step still uses it; remove or change it first."."""
    counts = Counter(obj._meta for obj in exc.protected_objects)
    users = get_text_list(
        [f"{n} {meta.verbose_name if n == 1 else meta.verbose_name_plural}" for meta, n in counts.items()], "and"
    )
    target = queryset.model._meta.verbose_name if queryset is not None else "object"
    if len(exc.protected_objects) == 1:
        return f"This {target} cannot be deleted: {users} still uses it; remove or change it first."
    return f"This {target} cannot be deleted: {users} still use it; remove or change them first."
