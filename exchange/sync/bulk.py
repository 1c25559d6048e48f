"""Bulk INSERT of model instances without bulk_create's per-value compilation.

Profiled on a 10,000-contact import, Django's `bulk_create` spent most of its time compiling
SQL (a Python call chain per column per row: 27 columns a contact, 12 a journal row), not in
the database. `insert` sends the same rows as one prepared statement through `executemany`:
the same columns, defaults and `auto_now` stamps, related objects resolved the same way, and a
refused row raises the same `IntegrityError`, so callers keep their one-by-one fallback.

Values that need adapting for the database (dates, times, JSON, decimals, UUIDs) go through
the field's own `get_db_prep_save`; the others (text, numbers, booleans, foreign keys) are
passed as they are, which is what `get_db_prep_save` would return for them.

Measured against plain `Model.objects.bulk_create(objs, batch_size=500)` (its primary keys come
back from the INSERT on SQLite 3.35+ and PostgreSQL, so `assign_pks` would go), with
`manage.py bench --only contacts,activities`: 10,000 items, 50 ms per Graph request, the two
variants alternated in one session on 2 shared vCPU (Django 5.2, SQLite 3.40, PostgreSQL 15;
see docs/benchmarks.md). Three runs each; the one in brackets ran under other jobs' load:

| items/s, 50 ms per request | `insert`              | `bulk_create`         | loss       |
|----------------------------|-----------------------|-----------------------|------------|
| contacts, SQLite           | 3,051, 2,977, [2,570] | 2,569, 2,486, [1,372] | 16 %       |
| activities, SQLite         | 1,478, 1,496, [1,491] | 1,442, 1,439, [1,190] | 3 %        |
| contacts, PostgreSQL       | 2,863, [1,902], 2,722 | 2,760, [1,762], 2,845 | none seen  |
| activities, PostgreSQL     | 1,481, [975], 1,106   | 946, [1,160], 1,256   | only noise |

On loopback the contact import on SQLite loses 30–40 % (4,727–5,024 against 2,669–3,588
items/s). The default back end loses more than the 10 % a private API must buy, so the module
stays; tests/exchange/test_bulk.py fails when a Django upgrade changes what it relies on (the
rows it stores are those of `bulk_create`, related objects resolve as in `save`, refused rows
raise `IntegrityError`): re-measure then, and drop this module if `bulk_create` has caught up.
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
    sql = "INSERT INTO {} ({}) VALUES ({})".format(  # nosec B608 # only quoted model identifiers; values are parameters
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
