"""Statements written as SQL for the step task's hot path: a conditional ``UPDATE`` and a joined ``SELECT``.

Compiling the step's ORM queries (a fetch joining four tables, updates whose filter crosses a
relation) cost the step worker more CPU than the statements themselves and the app call together
(``make profile``). They are a handful of fixed statements, so they are written once: values are
prepared, and read back, by their model fields exactly as the ORM does (dates, JSON, files), and
the SQL is plain enough for SQLite and PostgreSQL alike.
"""

from dataclasses import dataclass, field
from functools import cache

from django.db import connections, models, router


@dataclass(frozen=True)
class Sql:
    """A value written as SQL (``COALESCE(started_at, %s)``); its parameters are prepared by the field it sets."""

    text: str
    params: list = field(default_factory=list)


def update_where(model: type[models.Model], values: dict, where: str, params: list) -> int:
    """``UPDATE`` the rows of ``model`` that match ``where`` (SQL, with ``%s`` for ``params``); returns how many.

    ``values`` maps a field name to a Python value, prepared by that field for the database, or to ``Sql``.
    Column names in ``where`` are the model's columns, unqualified.
    """
    connection = connections[router.db_for_write(model)]
    quote = connection.ops.quote_name
    assignments, bound = [], []
    for name, value in values.items():
        model_field = model._meta.get_field(name)
        if isinstance(value, Sql):
            assignments.append(f"{quote(model_field.column)} = {value.text}")
            bound.extend(model_field.get_db_prep_save(param, connection) for param in value.params)
        else:
            assignments.append(f"{quote(model_field.column)} = %s")
            bound.append(model_field.get_db_prep_save(value, connection))
    sql = f"UPDATE {quote(model._meta.db_table)} SET {', '.join(assignments)} WHERE {where}"
    with connection.cursor() as cursor:
        cursor.execute(sql, [*bound, *params])
        return cursor.rowcount


def placeholders(values) -> str:
    """``%s, %s, %s`` for an ``IN (…)`` of these values."""
    return ", ".join(["%s"] * len(values))


def columns(model: type[models.Model], alias: str) -> str:
    """The SELECT list of all of ``model``'s concrete columns from table alias ``alias``, in field order."""
    return ", ".join(f"{alias}.{model_field.column}" for model_field in model._meta.concrete_fields)


@cache
def _converters(model: type[models.Model], using: str) -> list[list]:
    """Per concrete field, the converters the ORM applies to its column when it reads it."""
    connection = connections[using]
    converters = []
    for model_field in model._meta.concrete_fields:
        column = model_field.get_col(model._meta.db_table)
        found = connection.ops.get_db_converters(column) + model_field.get_db_converters(connection)
        converters.append([(converter, column) for converter in found])
    return converters


def _convert(value, converters, connection):
    for converter, column in converters:
        value = converter(value, column, connection)
    return value


def read_instance(model: type[models.Model], values, using: str = "default") -> models.Model | None:
    """A model instance from ``values`` (its concrete columns, as ``columns`` lists them), converted as the
    ORM converts them; None if its primary key is NULL (a LEFT JOIN found nothing)."""
    connection = connections[using]
    converted = [
        _convert(value, converters, connection)
        for value, converters in zip(values, _converters(model, using), strict=True)
    ]
    instance = model.from_db(using, None, converted)
    return None if instance.pk is None else instance


def read_value(model: type[models.Model], name: str, value, using: str = "default"):
    """One column of ``model``, read by a hand-written SELECT, converted as the ORM converts that field."""
    index = [model_field.name for model_field in model._meta.concrete_fields].index(name)
    return _convert(value, _converters(model, using)[index], connections[using])
