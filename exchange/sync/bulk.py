"""Bulk INSERT of model instances without bulk_create's per-value compilation.

Profiled on a 10,000-contact import, Django's `bulk_create` spent most of its time compiling
SQL (a Python call chain per column per row: 27 columns a contact, 12 a journal row), not in
the database. `insert` sends the same rows as one prepared statement through `executemany`:
the same columns, defaults and `auto_now` stamps, related objects resolved the same way, and a
refused row raises the same `IntegrityError`, so callers keep their one-by-one fallback.

Values that need adapting for the database (dates, times, JSON, decimals, UUIDs) go through
the field's own `get_db_prep_save`; the others (text, numbers, booleans, foreign keys) are
passed as they are, which is what `get_db_prep_save` would return for them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from django.db import connection, models
from django.utils import timezone

ADAPTED_TYPES = {"DateTimeField", "DateField", "TimeField", "JSONField", "DecimalField", "UUIDField", "DurationField"}


def insert(objs: list[models.Model]) -> None:
    """INSERT `objs` (all of one model, primary keys left to the database) in one executemany."""
    if not objs:
        return
    model = type(objs[0])
    fields = [field for field in model._meta.concrete_fields if not field.primary_key]
    stamped = [field for field in fields if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False)]
    now = timezone.now()  # auto_now and auto_now_add: one instant for the whole statement
    for obj in objs:
        obj._prepare_related_fields_for_save(operation_name="insert")
        for field in stamped:
            setattr(obj, field.attname, now)
    converters = [_converter(field) for field in fields]
    names = [field.attname for field in fields]
    rows = [
        tuple(convert(value) for convert, value in zip(converters, map(obj.__dict__.__getitem__, names), strict=True))
        for obj in objs
    ]
    quote = connection.ops.quote_name
    sql = "INSERT INTO {} ({}) VALUES ({})".format(
        quote(model._meta.db_table),
        ", ".join(quote(field.column) for field in fields),
        ", ".join(["%s"] * len(fields)),
    )
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)
    for obj in objs:
        obj._state.adding, obj._state.db = False, connection.alias


def assign_pks(objs: Iterable[models.Model], queryset: models.QuerySet, key: str) -> None:
    """Give inserted `objs` their primary keys, found by a unique `key` field within `queryset`."""
    objs = list(objs)
    keys = [getattr(obj, key) for obj in objs]
    pks = dict(queryset.filter(**{f"{key}__in": keys}).order_by().values_list(key, "pk"))
    for obj in objs:
        obj.pk = pks[getattr(obj, key)]


def _converter(field: models.Field) -> Callable:
    """The field's adaptation, remembered per value for this INSERT (a page's rows share stamps)."""
    if field.get_internal_type() not in ADAPTED_TYPES:
        return _same
    seen: dict = {}

    def convert(value):
        try:
            return seen[value]
        except KeyError:
            seen[value] = adapted = field.get_db_prep_save(value, connection)
            return adapted
        except TypeError:  # unhashable (JSON)
            return field.get_db_prep_save(value, connection)

    return convert


def _same(value):
    return value
