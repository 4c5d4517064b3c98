"""Admin lists that turn an impossible id in their filters into Django's "bad filter" page, not a 500.

Django's ChangeList sends ``?batch__id__exact=<n>`` to the database as it is; a number past the
database's integer range fails there (chowda_site/ids.py), after the admin's own check of lookups.
"""

from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.utils import NotRelationField, get_fields_from_path
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import FieldDoesNotExist
from django.db import models

from chowda_site.ids import MAX_ID


class BoundedChangeList(ChangeList):
    def get_filters_params(self, params=None):
        lookups = super().get_filters_params(params)
        for key, values in lookups.items():
            if _is_integer(self.model, key) and any(_out_of_range(v) for v in _as_list(values)):
                raise IncorrectLookupParameters(f"{key} is not a number the database can hold.")
        return lookups


class BoundedIdsAdmin(admin.ModelAdmin):
    """A ModelAdmin whose list treats an impossible id like any other bad filter."""

    def get_changelist(self, request, **kwargs):
        return BoundedChangeList


def _as_list(values) -> list[str]:
    return [values] if isinstance(values, str) else list(values)


def _out_of_range(value: str) -> bool:
    numbers = [part.strip().removeprefix("-") for part in value.split(",")]
    return any(number.isdigit() and int(number) > MAX_ID for number in numbers)


def _is_integer(model, lookup: str) -> bool:
    """Whether ``lookup`` (a field path, maybe with a lookup such as ``__in``) ends on an integer column."""
    parts = lookup.split("__")
    for end in range(len(parts), 0, -1):
        try:
            field = get_fields_from_path(model, "__".join(parts[:end]))[-1]
        except (FieldDoesNotExist, NotRelationField):
            continue
        if field.is_relation:
            field = getattr(field, "target_field", None) or field.related_model._meta.pk
        return isinstance(field, (models.IntegerField, models.AutoField))
    return False
