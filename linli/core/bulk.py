"""Inserting many rows without building model instances, for imports and demo data.

bulk_create spends most of its time turning instances back into column values (at 100,000 residents,
about 15 s of CPU); here the caller gives plain values and only dates, datetimes and JSON are adapted.
No save(), signals, auto_now or defaults: pass every column the row needs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from itertools import chain
from operator import itemgetter
from typing import Any

from django.db import connection, models


class _Adapter:
    """One column's conversion to what the database driver takes; a value repeated row after row
    (an import's timestamp) is converted once."""

    def __init__(self, convert: Callable[[Any], Any]) -> None:
        self.convert = convert
        self.last: tuple[Any, Any] = (object(), None)

    def __call__(self, value: Any) -> Any:
        if isinstance(value, str):
            return value  # already in the database's form
        if value is not self.last[0]:
            self.last = (value, self.convert(value))
        return self.last[1]


def _adapter(field: models.Field[Any, Any]) -> _Adapter | None:
    ops = connection.ops
    if isinstance(field, models.DateTimeField):
        return _Adapter(ops.adapt_datetimefield_value)
    if isinstance(field, models.DateField):
        return _Adapter(ops.adapt_datefield_value)
    if isinstance(field, models.CharField | models.TextField | models.IntegerField | models.BooleanField):
        return None
    if isinstance(field, models.ForeignKey) and isinstance(field.target_field, models.IntegerField):
        return None
    return _Adapter(lambda value: field.get_db_prep_save(value, connection))


def insert_rows(model: type[models.Model], fields: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """INSERT `rows` into `model`'s table: values in the order of `fields` (names or attnames), FKs as ids."""
    meta = model._meta
    by_name = {name: f for f in meta.concrete_fields for name in (f.name, f.attname)}
    columns = [by_name[name] for name in fields]
    # A column left out would be NULL, not its Python default: a field added to the model later must
    # be added by the caller too, and this says so rather than writing wrong rows.
    missing = {f.attname for f in meta.concrete_fields if not f.primary_key} - {f.attname for f in columns}
    if missing:
        raise ValueError(f"insert_rows({meta.label}) needs every column; missing {sorted(missing)}")
    adapters = [(i, a) for i, a in enumerate(_adapter(f) for f in columns) if a is not None]
    quote = connection.ops.quote_name
    if connection.vendor == "postgresql":
        # COPY: one round trip for all rows, where executemany would send them one by one.
        copy_sql = "COPY {} ({}) FROM STDIN".format(
            quote(meta.db_table), ", ".join(quote(f.column) for f in columns)
        )
        with connection.cursor() as cursor, cursor.copy(copy_sql) as copy:  # type: ignore[attr-defined]
            for row in rows:
                if adapters:
                    values = list(row)
                    for i, adapt in adapters:
                        values[i] = adapt(values[i])
                    copy.write_row(values)
                else:
                    copy.write_row(row)
        return
    _insert_sqlite(meta.db_table, [f.column for f in columns], adapters, rows)


# Variables per statement: SQLite's historical SQLITE_MAX_VARIABLE_NUMBER (newer builds allow 32,766).
SQLITE_MAX_PARAMS = 999


def _insert_sqlite(
    table: str, names: list[str], adapters: list[tuple[int, _Adapter]], rows: Sequence[Sequence[Any]]
) -> None:
    """Many rows per INSERT statement rather than executemany's one statement step per row, and a column
    that is NULL in every row written as a NULL literal rather than bound row after row. Placeholders are
    "?" and go to the driver's own execute: Django's cursor rewrites "%s" with a regular expression on
    every statement, which on statements this long costs a third of SQLite's own work."""
    if not rows:
        return
    bound = [i for i in range(len(names)) if any(row[i] is not None for row in rows)]
    adapters = [(i, a) for i, a in adapters if i in bound]
    if adapters:
        adapted = [list(row) for row in rows]
        for values in adapted:
            for i, adapt in adapters:
                values[i] = adapt(values[i])
        rows = adapted
    pick: Callable[[Sequence[Any]], Sequence[Any]] | None
    if len(bound) == len(names):
        pick = None
    elif len(bound) == 1:
        only = bound[0]
        pick = lambda row: (row[only],)  # noqa: E731
    elif bound:
        pick = itemgetter(*bound)
    else:
        pick = lambda row: ()  # noqa: E731
    quote = connection.ops.quote_name
    head = "INSERT INTO {} ({}) VALUES ".format(quote(table), ", ".join(quote(n) for n in names))
    one = "(" + ", ".join("?" if i in bound else "NULL" for i in range(len(names))) + ")"
    per = max(1, min(SQLITE_MAX_PARAMS // max(1, len(bound)), 500))
    full = head + ", ".join([one] * per)
    with connection.cursor() as cursor, connection.wrap_database_errors:
        raw = cursor.cursor  # the sqlite3 cursor under Django's wrapper
        execute = super(type(raw), raw).execute
        for start in range(0, len(rows), per):
            chunk = rows[start : start + per]
            sql = full if len(chunk) == per else head + ", ".join([one] * len(chunk))
            execute(sql, list(chain.from_iterable(chunk if pick is None else map(pick, chunk))))
