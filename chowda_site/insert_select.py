"""``INSERT INTO … SELECT`` (one row per row of a queryset, inside the database) and ``insert_values`` (many
rows from Python in one ``executemany``).

Django's ``bulk_create`` prepares every value of every object in Python, which is most of the time
a 100,000-file start would take. Here the database copies the rows itself: the caller names which
column of the queryset fills which field, and every other field gets its model default (computed
once, prepared for the database once). Works on SQLite and PostgreSQL.
"""

from django.core.exceptions import EmptyResultSet
from django.db import connections, models
from django.db.models import QuerySet
from django.utils import timezone


def insert_select(
    model: type[models.Model],
    rows: QuerySet,
    columns: dict[str, str],
    *,
    constants: dict | None = None,
    order_by: str | None = None,
    returning: bool = False,
    ignore_conflicts: bool = False,
) -> list[int] | int:
    """Insert into ``model`` one row per row of ``rows``; return the new primary keys or their count.

    ``rows`` must be a ``values()`` queryset; ``columns`` maps a field of ``model`` to the name of
    one of its columns (a field or an annotation). ``constants`` gives fields one value for every row.
    Fields named in neither get their default (``auto_now``/``auto_now_add`` fields get now); a
    nullable field without a default is left NULL. ``order_by`` (a column of ``rows``) orders the
    new rows' primary keys. With ``returning``, the new primary keys are returned, in that order.
    With ``ignore_conflicts``, a row that would break a unique constraint is left out (and not counted).
    """
    constants = dict(constants or {})
    connection = connections[rows.db]
    now = timezone.now()
    for field in model._meta.concrete_fields:
        if field.primary_key or field.name in columns or field.name in constants:
            continue
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            constants[field.name] = now
        elif field.has_default() or not field.null:
            constants[field.name] = field.get_default()

    quote = connection.ops.quote_name
    targets, selected, params = [], [], []
    for name, source in columns.items():
        targets.append(quote(model._meta.get_field(name).column))
        selected.append(f"q.{quote(source)}")
    for name, value in constants.items():
        field = model._meta.get_field(name)
        targets.append(quote(field.column))
        selected.append(_typed_placeholder(field, connection))
        params.append(field.get_db_prep_save(value, connection))

    try:
        inner, inner_params = rows.order_by().query.sql_with_params()
    except EmptyResultSet:  # ``pk__in=[]`` and the like: nothing to insert
        return [] if returning else 0
    insert = "INSERT OR IGNORE INTO" if ignore_conflicts and connection.vendor == "sqlite" else "INSERT INTO"
    sql = f"{insert} {quote(model._meta.db_table)} ({', '.join(targets)}) SELECT {', '.join(selected)} FROM ({inner}) q"
    if order_by:
        sql += f" ORDER BY q.{quote(order_by)}"
    if ignore_conflicts and connection.vendor != "sqlite":
        sql += " ON CONFLICT DO NOTHING"
    if returning:
        sql += f" RETURNING {quote(model._meta.pk.column)}"
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, *inner_params])
        if returning:
            return sorted(pk for (pk,) in cursor.fetchall())
        return cursor.rowcount


def _typed_placeholder(field: models.Field, connection) -> str:
    """A parameter in a SELECT list has no type PostgreSQL can infer from the target column: say it."""
    if connection.vendor == "postgresql":
        return f"CAST(%s AS {field.cast_db_type(connection)})"
    return "%s"


def insert_values(model: type[models.Model], fields: list[str], rows: list[tuple], *, using: str = "default") -> int:
    """Insert ``rows`` (tuples of values for ``fields``, in that order) with the database driver's own loop; returns
    how many. Other fields get their default, as in ``insert_select``. No model instance is made and no primary key
    is read back: for 100,000 media files, ``bulk_create`` spent seconds on exactly that."""
    connection = connections[using]
    now = timezone.now()
    constants = {}
    for field in model._meta.concrete_fields:
        if field.primary_key or field.name in fields:
            continue
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            constants[field.name] = now
        elif field.has_default() or not field.null:
            constants[field.name] = field.get_default()
    named = [model._meta.get_field(name) for name in [*fields, *constants]]
    fixed = [
        field.get_db_prep_save(value, connection)
        for field, value in zip(named[len(fields) :], constants.values(), strict=True)
    ]
    quote = connection.ops.quote_name
    table, columns = quote(model._meta.db_table), ", ".join(quote(field.column) for field in named)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # COPY: a tenth of the time executemany takes for 100,000 rows.
            with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row((*row, *fixed))
            if len(rows) >= ANALYZE_AFTER:
                # So that the next lookups by these rows' keys (the next import's) use the indexes at once,
                # rather than plan for the small table autovacuum last saw.
                cursor.execute(f"ANALYZE {table}")
        else:
            cursor.executemany(
                f"INSERT INTO {table} ({columns}) VALUES ({', '.join(['%s'] * len(named))})",
                [(*row, *fixed) for row in rows],
            )
    return len(rows)


# PostgreSQL's statistics of a table are brought up to date after an insert of at least this many rows.
ANALYZE_AFTER = 10_000
