"""Writing many plain rows at once: the one COPY writer.

On PostgreSQL rows go in through `COPY … FROM STDIN`: tens of thousands of small rows (a bulk edit of 10,000
orders writes 30,000 events or more; an import writes orders, lines and their mall state) go in at the
database's own speed, where INSERT … VALUES spends its time binding parameters. Elsewhere (SQLite) through
bulk_create. Used by the events of every set-based writer (save_events), automation's bookkeeping rows and
tasks, and the shops' import (orders, lines, MallOrder).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

from django.db import connection, models

from .models import OrderEvent

BATCH = 2_000  # rows per INSERT where there is no COPY

_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


class JsonText(NamedTuple):
    """A JSON value with its text, encoded once by the caller (the import hashes that very text): COPY writes
    the text as it is, bulk_create takes the value."""

    value: Any
    text: str


def copy_rows(
    model: type[models.Model], columns: Sequence[str], rows: Iterable[Sequence[Any]], *, batch_size: int = BATCH
) -> None:
    """Insert plain rows into `model`'s table; no ids come back.

    `columns` are attribute names (tenant_id, order_id …; `id` too when the caller took the ids from the
    sequence itself). A JSON column takes a Python value, encoded here, or a JsonText. The database's
    refusals come as Django's errors (IntegrityError, DataError), whichever way the rows went in."""
    if isinstance(rows, list | tuple) and not rows:
        return
    by_attname = {f.attname: f for f in model._meta.concrete_fields}
    json_at = [i for i, name in enumerate(columns) if isinstance(by_attname[name], models.JSONField)]
    if connection.vendor != "postgresql":
        objs = []
        for row in rows:
            values = dict(zip(columns, row, strict=True))
            for i in json_at:
                value = values[columns[i]]
                if isinstance(value, JsonText):
                    values[columns[i]] = value.value
            objs.append(model(**values))
        if objs:
            model._default_manager.bulk_create(objs, batch_size=batch_size)
        return
    if not json_at:
        _copy(model, columns, rows)
        return

    def encoded(row: Sequence[Any]) -> list[Any]:
        out = list(row)
        for i in json_at:
            value = out[i]
            out[i] = value.text if isinstance(value, JsonText) else _dumps(value)
        return out

    _copy(model, columns, (encoded(row) for row in rows))


def _copy(model: type[models.Model], columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """COPY rows whose JSON columns are encoded already."""
    quote = connection.ops.quote_name
    by_attname = {f.attname: f for f in model._meta.concrete_fields}
    names = ", ".join(quote(str(by_attname[name].column)) for name in columns)
    with (
        connection.wrap_database_errors,
        connection.cursor() as cursor,
        cursor.cursor.copy(f"COPY {quote(model._meta.db_table)} ({names}) FROM STDIN") as copy,
    ):
        for row in rows:
            copy.write_row(row)


EVENT_COLUMNS = ("tenant_id", "order_id", "at", "actor_kind", "actor_name", "actor_user_id", "type", "data")


def save_events(built: list[OrderEvent]) -> None:
    """Insert the events the builders made with `commit=False` (orders.events): through COPY on PostgreSQL,
    bulk_create elsewhere."""
    if not built:
        return
    if connection.vendor != "postgresql":
        OrderEvent.objects.bulk_create(built, batch_size=BATCH)
        return
    _copy(  # each row built once, its data encoded right here: tens of thousands of them
        OrderEvent,
        EVENT_COLUMNS,
        (
            (e.tenant_id, e.order_id, e.at, e.actor_kind, e.actor_name, e.actor_user_id, e.type, _dumps(e.data))
            for e in built
        ),
    )
